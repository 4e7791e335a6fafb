//! Savepoints: rolling back undoes exactly the writes made since, releasing keeps them,
//! and what a transaction commits afterwards is what it kept.

use std::ops::Bound;

use toondb_storage::{Database, Error, ScanOrder};

fn all(
    txn: &toondb_storage::Transaction,
    ks: &toondb_storage::Keyspace,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    txn.scan_range(ks, Bound::Unbounded, Bound::Unbounded, ScanOrder::Forward)
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn pairs(p: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    p.iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

#[test]
fn nested_savepoints_roll_back_and_release() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let db = Database::open(dir.path())?;
    let ks = db.keyspace("t")?;
    db.put_in(&ks, b"base", b"0")?;
    let mut txn = db.begin_transaction()?;
    txn.put(&ks, b"a", b"1")?;
    let outer = txn.savepoint();
    txn.put(&ks, b"a", b"2")?;
    txn.delete(&ks, b"base")?;
    let inner = txn.savepoint();
    txn.put(&ks, b"b", b"3")?;
    txn.put(&ks, b"a", b"4")?;
    assert_eq!(all(&txn, &ks), pairs(&[("a", "4"), ("b", "3")]));
    txn.rollback_to(inner)?;
    assert_eq!(all(&txn, &ks), pairs(&[("a", "2")]));
    let again = txn.savepoint();
    txn.put(&ks, b"c", b"5")?;
    txn.release(again)?;
    txn.rollback_to(outer)?;
    assert_eq!(all(&txn, &ks), pairs(&[("a", "1"), ("base", "0")]));
    txn.commit()?;
    let check = db.begin_transaction()?;
    assert_eq!(all(&check, &ks), pairs(&[("a", "1"), ("base", "0")]));
    Ok(())
}

#[test]
fn rolling_back_an_outer_savepoint_ends_the_inner_ones() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let db = Database::open(dir.path())?;
    let ks = db.keyspace("t")?;
    let other = db.keyspace("u")?;
    let mut txn = db.begin_transaction()?;
    let outer = txn.savepoint();
    txn.put(&ks, b"a", b"1")?;
    let inner = txn.savepoint();
    // A keyspace first written after a savepoint.
    txn.put(&other, b"x", b"1")?;
    txn.rollback_to(outer)?;
    assert!(txn.is_read_only(), "nothing is left to write");
    let e = txn.release(inner).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    // Writing the keyspaces again works as before.
    txn.put(&other, b"y", b"2")?;
    txn.commit()?;
    let check = db.begin_transaction()?;
    assert_eq!(all(&check, &ks), Vec::new());
    assert_eq!(all(&check, &other), pairs(&[("y", "2")]));
    Ok(())
}

#[test]
fn a_savepoint_belongs_to_its_transaction() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let db = Database::open(dir.path())?;
    let ks = db.keyspace("t")?;
    let mut one = db.begin_transaction()?;
    let mut two = db.begin_transaction()?;
    let sp = one.savepoint();
    two.put(&ks, b"k", b"v")?;
    let e = two.rollback_to(sp).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    assert_eq!(two.get(&ks, b"k")?, Some(b"v".to_vec()));
    Ok(())
}

/// Many statement-sized savepoints over a large write set, some rolled back: the kept
/// writes commit, the others never appear.
#[test]
fn many_savepoints_over_a_large_write_set() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let db = Database::open(dir.path())?;
    let ks = db.keyspace("t")?;
    let mut txn = db.begin_transaction()?;
    let mut kept = Vec::new();
    for i in 0..20_000u32 {
        let sp = txn.savepoint();
        let key = format!("k{i:06}");
        txn.put(&ks, key.as_bytes(), b"v")?;
        if i % 10 == 0 {
            // A scan inside the statement, as SQL's rowid allocation does.
            let mut last = None;
            txn.scan_range_with(
                &ks,
                Bound::Unbounded,
                Bound::Unbounded,
                ScanOrder::Reverse,
                |k, _| {
                    last = Some(k.to_vec());
                    Ok::<_, Error>(false)
                },
            )?;
            assert_eq!(last.as_deref(), Some(key.as_bytes()));
        }
        if i % 3 == 0 {
            txn.rollback_to(sp)?;
        } else {
            txn.release(sp)?;
            kept.push((key.into_bytes(), b"v".to_vec()));
        }
    }
    txn.commit()?;
    let check = db.begin_transaction()?;
    assert_eq!(all(&check, &ks), kept);
    Ok(())
}
