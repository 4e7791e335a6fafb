//! Snapshot isolation under real concurrency.

use std::sync::{Arc, Barrier};
use std::thread;

use toondb_storage::{Database, Error};

fn open() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    (dir, db)
}

fn read_u64(v: Option<Vec<u8>>) -> u64 {
    v.map_or(0, |b| u64::from_be_bytes(b.try_into().unwrap()))
}

#[test]
fn lost_update_is_impossible() {
    let (_d, db) = open();
    let threads = 8;
    let per_thread = 40;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let db = db.clone();
            let barrier = barrier.clone();
            thread::spawn(move || {
                barrier.wait();
                let kv = db.kv_keyspace();
                let mut retries = 0;
                for _ in 0..per_thread {
                    let ((), attempts) = db
                        .transaction_with_retry(1000, |txn| {
                            let n = read_u64(txn.get(&kv, b"counter")?);
                            txn.put(&kv, b"counter", &(n + 1).to_be_bytes())?;
                            Ok::<_, Error>(())
                        })
                        .unwrap();
                    retries += attempts - 1;
                }
                retries
            })
        })
        .collect();
    let retries: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(
        read_u64(db.get(b"counter").unwrap()),
        (threads * per_thread) as u64
    );
    eprintln!("{retries} conflicts retried");
    let stats = db.stats().unwrap();
    assert_eq!(stats.transactions_aborted as usize, retries);
}

#[test]
fn first_committer_wins_with_a_typed_retryable_error() {
    let (_d, db) = open();
    let kv = db.kv_keyspace();
    db.put(b"x", b"0").unwrap();
    let mut t1 = db.begin_transaction().unwrap();
    let mut t2 = db.begin_transaction().unwrap();
    assert_ne!(t1.id(), t2.id());
    t1.put(&kv, b"x", b"1").unwrap();
    t2.put(&kv, b"x", b"2").unwrap();
    let seq = t1.commit().unwrap();
    let err = t2.commit().unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(matches!(err, Error::Conflict { .. }));
    assert_eq!(db.get(b"x").unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(db.last_commit_seq().unwrap(), seq);
    // Disjoint writes do not conflict; a blind autocommit write after t3's snapshot does.
    let mut t3 = db.begin_transaction().unwrap();
    let mut t4 = db.begin_transaction().unwrap();
    t3.put(&kv, b"a", b"3").unwrap();
    t4.put(&kv, b"b", b"4").unwrap();
    t3.commit().unwrap();
    t4.commit().unwrap();
    let mut t5 = db.begin_transaction().unwrap();
    t5.delete(&kv, b"a").unwrap();
    db.put(b"a", b"blind").unwrap();
    assert!(t5.commit().unwrap_err().is_retryable());
    // A transaction that began after a commit does not conflict with it.
    let mut t6 = db.begin_transaction().unwrap();
    t6.put(&kv, b"a", b"6").unwrap();
    t6.commit().unwrap();
}

#[test]
fn bank_transfers_keep_the_total() {
    let (_d, db) = open();
    let accounts = 10u64;
    let initial = 1_000u64;
    db.transaction(|txn| {
        let kv = db.kv_keyspace();
        for a in 0..accounts {
            txn.put(&kv, format!("acct/{a}").as_bytes(), &initial.to_be_bytes())?;
        }
        Ok::<_, Error>(())
    })
    .unwrap();
    let threads = 6;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let db = db.clone();
            thread::spawn(move || {
                let kv = db.kv_keyspace();
                let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ t;
                for _ in 0..60 {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let from = seed % accounts;
                    let to = (seed / accounts) % accounts;
                    let amount = (seed >> 32) % 50;
                    db.transaction_with_retry(1000, |txn| {
                        let fk = format!("acct/{from}");
                        let tk = format!("acct/{to}");
                        let fb = read_u64(txn.get(&kv, fk.as_bytes())?);
                        if fb < amount || from == to {
                            return Ok(());
                        }
                        let tb = read_u64(txn.get(&kv, tk.as_bytes())?);
                        txn.put(&kv, fk.as_bytes(), &(fb - amount).to_be_bytes())?;
                        txn.put(&kv, tk.as_bytes(), &(tb + amount).to_be_bytes())?;
                        Ok::<_, Error>(())
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    // Meanwhile, every snapshot a reader takes must see the invariant hold.
    let reader = {
        let db = db.clone();
        thread::spawn(move || {
            for _ in 0..100 {
                let txn = db.begin_transaction().unwrap();
                let kv = db.kv_keyspace();
                let total: u64 = txn
                    .scan_prefix(&kv, b"acct/")
                    .unwrap()
                    .map(|r| u64::from_be_bytes(r.unwrap().1.try_into().unwrap()))
                    .sum();
                assert_eq!(total, accounts * initial);
            }
        })
    };
    for h in handles {
        h.join().unwrap();
    }
    reader.join().unwrap();
    let total: u64 = db
        .scan_prefix(b"acct/")
        .unwrap()
        .map(|r| u64::from_be_bytes(r.unwrap().1.try_into().unwrap()))
        .sum();
    assert_eq!(total, accounts * initial);
}

#[test]
fn repeatable_reads_while_others_commit() {
    let (_d, db) = open();
    let kv = db.kv_keyspace();
    db.put(b"k", b"v1").unwrap();
    let txn = db.begin_transaction().unwrap();
    assert_eq!(txn.get(&kv, b"k").unwrap().as_deref(), Some(&b"v1"[..]));
    let writer = {
        let db = db.clone();
        thread::spawn(move || {
            for i in 0..20 {
                db.put(b"k", format!("w{i}").as_bytes()).unwrap();
                db.put(format!("new{i}").as_bytes(), b"x").unwrap();
            }
        })
    };
    writer.join().unwrap();
    assert_eq!(txn.get(&kv, b"k").unwrap().as_deref(), Some(&b"v1"[..]));
    assert_eq!(txn.scan_prefix(&kv, b"new").unwrap().count(), 0);
    assert_eq!(db.get(b"k").unwrap().as_deref(), Some(&b"w19"[..]));
}

#[test]
fn scans_see_own_writes_merged_in_order() {
    let (_d, db) = open();
    let kv = db.kv_keyspace();
    for k in ["a", "c", "e", "g"] {
        db.put(k.as_bytes(), b"committed").unwrap();
    }
    let mut txn = db.begin_transaction().unwrap();
    txn.put(&kv, b"b", b"mine").unwrap();
    txn.put(&kv, b"c", b"mine").unwrap(); // shadows
    txn.delete(&kv, b"e").unwrap(); // hides
    txn.put(&kv, b"h", b"mine").unwrap();
    txn.delete(&kv, b"zz").unwrap(); // deleting a missing key
    let fwd: Vec<_> = txn
        .scan(&kv, b"a", b"z")
        .unwrap()
        .map(|r| {
            let (k, v) = r.unwrap();
            (String::from_utf8(k).unwrap(), String::from_utf8(v).unwrap())
        })
        .collect();
    let expect = [
        ("a", "committed"),
        ("b", "mine"),
        ("c", "mine"),
        ("g", "committed"),
        ("h", "mine"),
    ];
    assert_eq!(
        fwd,
        expect
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
    );
    let rev: Vec<_> = txn
        .scan_range(
            &kv,
            std::ops::Bound::Unbounded,
            std::ops::Bound::Unbounded,
            toondb_storage::ScanOrder::Reverse,
        )
        .unwrap()
        .map(|r| String::from_utf8(r.unwrap().0).unwrap())
        .collect();
    assert_eq!(rev, ["h", "g", "c", "b", "a"]);
    assert_eq!(txn.get(&kv, b"e").unwrap(), None);
    // Others see nothing until commit, everything after.
    assert_eq!(db.get(b"b").unwrap(), None);
    txn.commit().unwrap();
    assert_eq!(db.scan(b"a", b"z").unwrap().count(), 5);
}

/// The borrowing scan and get agree with the copying ones: over the snapshot alone, with
/// the transaction's own writes in range, in both orders, and when the callback stops.
#[test]
fn borrowing_scans_and_gets_agree_with_copying_ones() {
    use std::ops::Bound::{self, Excluded, Included, Unbounded};
    use toondb_storage::ScanOrder;
    let (_d, db) = open();
    let kv = db.kv_keyspace();
    for k in ["a", "c", "e", "g"] {
        db.put(k.as_bytes(), k.to_uppercase().as_bytes()).unwrap();
    }
    let mut txn = db.begin_transaction().unwrap();
    let collect = |txn: &toondb_storage::Transaction,
                   lo: Bound<&[u8]>,
                   hi: Bound<&[u8]>,
                   order: ScanOrder,
                   stop_after: usize| {
        let mut seen = Vec::new();
        let done = txn
            .scan_range_with(&kv, lo, hi, order, |k, v| {
                seen.push((k.to_vec(), v.to_vec()));
                Ok::<bool, Error>(seen.len() < stop_after)
            })
            .unwrap();
        let copied: Vec<_> = txn
            .scan_range(&kv, lo, hi, order)
            .unwrap()
            .map(Result::unwrap)
            .take(stop_after)
            .collect();
        assert_eq!(seen, copied, "{lo:?}..{hi:?} {order:?}");
        (seen.len(), done)
    };
    let forward = ScanOrder::Forward;
    let reverse = ScanOrder::Reverse;
    // Snapshot only (no own writes yet).
    assert_eq!(collect(&txn, Unbounded, Unbounded, forward, 99), (4, true));
    assert_eq!(collect(&txn, Unbounded, Unbounded, reverse, 99), (4, true));
    assert_eq!(collect(&txn, Unbounded, Unbounded, forward, 2), (2, false));
    assert_eq!(
        collect(&txn, Excluded(b"a"), Included(b"e"), forward, 99),
        (2, true)
    );
    assert_eq!(
        collect(&txn, Included(b"e"), Excluded(b"a"), forward, 99),
        (0, true)
    );
    // Own writes: one shadows, one hides, one adds.
    txn.put(&kv, b"c", b"mine").unwrap();
    txn.delete(&kv, b"e").unwrap();
    txn.put(&kv, b"f", b"mine").unwrap();
    assert_eq!(collect(&txn, Unbounded, Unbounded, forward, 99), (4, true));
    assert_eq!(collect(&txn, Unbounded, Unbounded, reverse, 99), (4, true));
    assert_eq!(collect(&txn, Unbounded, Unbounded, reverse, 1), (1, false));
    // Own writes outside the range leave the borrowing path in use.
    assert_eq!(
        collect(&txn, Included(b"g"), Unbounded, forward, 99),
        (1, true)
    );
    // Callback errors come back as they are.
    let err = txn
        .scan_range_with(&kv, Unbounded, Unbounded, forward, |_, _| {
            Err::<bool, _>(Error::InvalidArgument("stop".into()))
        })
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(m) if m == "stop"));
    // get_with: own write, own delete, snapshot, missing.
    let len = |k: &[u8]| txn.get_with(&kv, k, |v| v.to_vec()).unwrap();
    assert_eq!(len(b"c"), Some(b"mine".to_vec()));
    assert_eq!(len(b"e"), None);
    assert_eq!(len(b"g"), Some(b"G".to_vec()));
    assert_eq!(len(b"zz"), None);
}

#[test]
fn abort_drop_and_closure_errors_discard_writes() {
    let (_d, db) = open();
    let kv = db.kv_keyspace();
    let mut t = db.begin_transaction().unwrap();
    t.put(&kv, b"a", b"1").unwrap();
    t.abort();
    {
        let mut t = db.begin_transaction().unwrap();
        t.put(&kv, b"b", b"1").unwrap();
    }
    let r: Result<(), Error> = db.transaction(|txn| {
        txn.put(&kv, b"c", b"1")?;
        Err(Error::InvalidArgument("changed my mind".into()))
    });
    assert!(r.is_err());
    assert_eq!(db.scan_prefix(b"").unwrap().count(), 0);
    assert_eq!(db.stats().unwrap().transactions_aborted, 3);
    // A read-only commit returns its snapshot's sequence number.
    let seq = db.put(b"z", b"1").unwrap();
    let t = db.begin_transaction().unwrap();
    assert_eq!(t.snapshot_seq(), seq);
    assert_eq!(t.commit().unwrap(), seq);
}

#[test]
fn group_commit_gives_every_writer_a_distinct_increasing_seq() {
    let (_d, db) = open();
    let threads = 8;
    let per_thread = 50;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let db = db.clone();
            thread::spawn(move || {
                let mut seqs = Vec::new();
                for i in 0..per_thread {
                    seqs.push(db.put(format!("t{t}/{i:03}").as_bytes(), b"v").unwrap());
                }
                seqs
            })
        })
        .collect();
    let mut all = Vec::new();
    for h in handles {
        let seqs = h.join().unwrap();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "per-thread order");
        all.extend(seqs);
    }
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), threads * per_thread);
    assert_eq!(
        db.stats().unwrap().keys_count as usize,
        threads * per_thread
    );
    assert_eq!(*all.last().unwrap(), db.last_commit_seq().unwrap());
}
