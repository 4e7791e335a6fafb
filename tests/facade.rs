//! The façade's contract: cheap shareable handles, the KV/transaction API, and every
//! storage error mapped to a stable code with a remediation hint.

use toondb::{Database, Error, ErrorCode, SyncMode};

fn assert_handle<T: Clone + Send + Sync + 'static>() {}

#[test]
fn handles_are_clone_send_sync() {
    assert_handle::<Database>();
    fn assert_send<T: Send>() {}
    assert_send::<toondb::Transaction>();
}

#[test]
fn kv_and_transactions_through_the_facade() -> toondb::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = Database::builder()
        .sync_mode(SyncMode::Normal)
        .open(dir.path())?;
    db.put(b"a", b"1")?;
    let mut txn = db.begin_transaction()?;
    txn.put(b"b", b"2")?;
    txn.put_path("p/q", b"3")?;
    assert_eq!(txn.scan_prefix(b"")?.count(), 3);
    assert_eq!(txn.get_path("p/q")?.as_deref(), Some(&b"3"[..]));
    let rev: Vec<_> = txn
        .scan_reverse(b"a", b"z")?
        .map(|r| r.unwrap().0)
        .collect();
    assert_eq!(rev, [b"p/q".to_vec(), b"b".to_vec(), b"a".to_vec()]);
    txn.commit()?;
    // An Err from the closure aborts and is returned unchanged.
    let err = db
        .transaction(|txn| {
            txn.put(b"c", b"3")?;
            txn.put_path("/bad", b"x")?;
            Ok(())
        })
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidPath);
    assert_eq!(db.get(b"c")?, None);
    let (n, attempts) = db.transaction_with_retry(3, |txn| {
        txn.delete(b"a")?;
        Ok(7)
    })?;
    assert_eq!((n, attempts), (7, 1));
    assert!(db.transaction_with_retry(0, |_| Ok(())).is_err());
    Ok(())
}

#[test]
fn every_error_has_a_code_and_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let cases: Vec<(Error, ErrorCode)> = vec![
        (
            Database::builder()
                .create_if_missing(false)
                .open(dir.path().join("missing"))
                .unwrap_err(),
            ErrorCode::DatabaseNotFound,
        ),
        (
            db.put_path("a//b", b"").unwrap_err(),
            ErrorCode::InvalidPath,
        ),
        (
            db.put(&vec![0u8; toondb::storage::MAX_KEY_LEN + 1], b"")
                .unwrap_err(),
            ErrorCode::KeyTooLarge,
        ),
        (
            db.scan_batched(b"a", b"b", 0).err().unwrap(),
            ErrorCode::InvalidArgument,
        ),
        (
            toondb::storage::Database::open(dir.path())
                .map(|_| ())
                .map_err(Error::from)
                .unwrap_err(),
            ErrorCode::DatabaseLocked,
        ),
        (
            {
                let mut t1 = db.begin_transaction().unwrap();
                let mut t2 = db.begin_transaction().unwrap();
                t1.put(b"x", b"1").unwrap();
                t2.put(b"x", b"2").unwrap();
                t1.commit().unwrap();
                t2.commit().unwrap_err()
            },
            ErrorCode::TransactionConflict,
        ),
    ];
    for (err, code) in cases {
        assert_eq!(err.code(), code, "{err}");
        assert!(!err.remediation().is_empty());
        assert_eq!(err.is_retryable(), code == ErrorCode::TransactionConflict);
    }
    let locked = toondb::storage::Database::open(dir.path())
        .map_err(Error::from)
        .unwrap_err();
    assert!(locked.remediation().contains("toondb-server"));
}
