//! KV, path, scan, keyspace, stats and bad-input behaviour of the storage engine.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::ops::Bound;

use toondb_storage::{Database, Error, MAX_KEY_LEN, MAX_VALUE_LEN, Result, ScanOrder, SyncMode};

fn open() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    (dir, db)
}

fn keys(scan: toondb_storage::Scan) -> Vec<String> {
    scan.map(|r| String::from_utf8(r.unwrap().0).unwrap())
        .collect()
}

#[test]
fn put_get_delete_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        assert_eq!(db.get(b"missing").unwrap(), None);
        let s1 = db.put(b"a", b"1").unwrap();
        let s2 = db.put(b"b", b"2").unwrap();
        assert!(s2 > s1, "sequence numbers increase");
        db.put(b"a", b"one").unwrap();
        assert_eq!(db.get(b"a").unwrap().as_deref(), Some(&b"one"[..]));
        db.delete(b"b").unwrap();
        db.delete(b"never-there").unwrap();
        assert_eq!(db.get(b"b").unwrap(), None);
        // Empty keys and values are ordinary keys and values.
        db.put(b"", b"").unwrap();
        assert_eq!(db.get(b"").unwrap(), Some(vec![]));
    }
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(db.get(b"a").unwrap().as_deref(), Some(&b"one"[..]));
    assert_eq!(db.get(b"b").unwrap(), None);
    assert_eq!(db.get(b"").unwrap(), Some(vec![]));
    assert!(
        db.last_commit_seq().unwrap() >= 5,
        "sequence survives reopen"
    );
    let before = db.last_commit_seq().unwrap();
    assert_eq!(db.put(b"c", b"3").unwrap(), before + 1);
}

#[test]
fn paths_and_children() {
    let (_d, db) = open();
    db.put_path("users/alice/email", b"a@x").unwrap();
    db.put_path("users/alice/name", b"Alice").unwrap();
    db.put_path("users/bob", b"leaf").unwrap();
    db.put_path("users/bob/email", b"b@x").unwrap();
    db.put_path("users/bob-smith/email", b"bs@x").unwrap();
    db.put_path("usersx", b"not a child").unwrap();
    db.put_path("teams/core", b"1").unwrap();
    assert_eq!(
        db.get_path("users/alice/email").unwrap().as_deref(),
        Some(&b"a@x"[..])
    );
    assert_eq!(
        db.list_children("users").unwrap(),
        ["alice", "bob", "bob-smith"]
    );
    assert_eq!(db.list_children("users/alice").unwrap(), ["email", "name"]);
    assert_eq!(
        db.list_children("users/alice/email").unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(db.list_children("").unwrap(), ["teams", "users", "usersx"]);
    db.delete_path("users/bob").unwrap();
    assert_eq!(db.get_path("users/bob").unwrap(), None);
    assert_eq!(
        db.list_children("users").unwrap(),
        ["alice", "bob", "bob-smith"]
    );

    for bad in ["", "/users", "users/", "users//alice", "a\0b"] {
        assert!(
            matches!(db.put_path(bad, b"x"), Err(Error::InvalidPath { .. })),
            "{bad:?}"
        );
        assert!(
            matches!(db.get_path(bad), Err(Error::InvalidPath { .. })),
            "{bad:?}"
        );
        assert!(
            matches!(db.delete_path(bad), Err(Error::InvalidPath { .. })),
            "{bad:?}"
        );
    }
    assert!(matches!(
        db.list_children("a//b"),
        Err(Error::InvalidPath { .. })
    ));
}

#[test]
fn scans_are_ordered_half_open_and_bounded() {
    let (_d, db) = open();
    for i in 0..50u32 {
        db.put(format!("k{i:03}").as_bytes(), &i.to_be_bytes())
            .unwrap();
    }
    db.put(b"other", b"x").unwrap();
    let got = keys(db.scan(b"k010", b"k015").unwrap());
    assert_eq!(got, ["k010", "k011", "k012", "k013", "k014"]);
    let got = keys(db.scan_reverse(b"k010", b"k015").unwrap());
    assert_eq!(got, ["k014", "k013", "k012", "k011", "k010"]);
    assert_eq!(db.scan_prefix(b"k0").unwrap().count(), 50);
    assert_eq!(db.scan_prefix(b"").unwrap().count(), 51);
    assert_eq!(db.scan_prefix(b"zzz").unwrap().count(), 0);
    // Empty and inverted ranges are empty, not errors or panics.
    assert_eq!(db.scan(b"k020", b"k020").unwrap().count(), 0);
    assert_eq!(db.scan(b"k030", b"k020").unwrap().count(), 0);
    let all: Vec<_> = db
        .scan_range(Bound::Unbounded, Bound::Unbounded, ScanOrder::Reverse)
        .unwrap()
        .map(|r| r.unwrap().0)
        .collect();
    assert_eq!(all.first().unwrap(), b"other");
    assert_eq!(all.last().unwrap(), b"k000");

    // Batched: sizes and order, and the whole range covered exactly once.
    let batches: Vec<_> = db
        .scan_batched(b"k000", b"k050", 16)
        .unwrap()
        .map(|b| b.unwrap())
        .collect();
    assert_eq!(
        batches.iter().map(Vec::len).collect::<Vec<_>>(),
        [16, 16, 16, 2]
    );
    let flat: Vec<_> = batches.into_iter().flatten().map(|(k, _)| k).collect();
    let direct: Vec<_> = db
        .scan(b"k000", b"k050")
        .unwrap()
        .map(|r| r.unwrap().0)
        .collect();
    assert_eq!(flat, direct);
    assert!(matches!(
        db.scan_batched(b"a", b"b", 0),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn prefix_scan_of_ff_bytes() {
    let (_d, db) = open();
    db.put(&[0xFF, 0xFF], b"1").unwrap();
    db.put(&[0xFF, 0xFF, 0x00], b"2").unwrap();
    db.put(&[0xFF, 0xFE], b"3").unwrap();
    assert_eq!(db.scan_prefix(&[0xFF, 0xFF]).unwrap().count(), 2);
    assert_eq!(db.scan_prefix(&[0xFF]).unwrap().count(), 3);
}

#[test]
fn a_scan_keeps_its_snapshot_while_others_commit() {
    let (_d, db) = open();
    for i in 0..10u8 {
        db.put(&[i], b"old").unwrap();
    }
    let mut scan = db.scan(&[0], &[100]).unwrap();
    let first = scan.next().unwrap().unwrap();
    for i in 0..10u8 {
        db.put(&[i], b"new").unwrap();
    }
    db.put(&[50], b"new key").unwrap();
    let rest: Vec<_> = scan.map(|r| r.unwrap()).collect();
    assert_eq!(first.1, b"old");
    assert_eq!(rest.len(), 9);
    assert!(rest.iter().all(|(_, v)| v == b"old"));
}

#[test]
fn keyspaces_are_separate_and_one_transaction_spans_several() {
    let (_d, db) = open();
    let users = db.keyspace("users").unwrap();
    let orders = db.keyspace("orders").unwrap();
    assert_eq!(users.name(), "users");
    let mut txn = db.begin_transaction().unwrap();
    txn.put(&users, b"alice", b"1").unwrap();
    txn.put(&orders, b"alice", b"42").unwrap();
    assert_eq!(
        txn.get(&users, b"alice").unwrap().as_deref(),
        Some(&b"1"[..])
    );
    txn.commit().unwrap();
    assert_eq!(
        db.get_in(&orders, b"alice").unwrap().as_deref(),
        Some(&b"42"[..])
    );
    // The KV keyspace is a keyspace like the others, and sees none of them.
    assert_eq!(db.get(b"alice").unwrap(), None);
    assert_eq!(db.kv_keyspace().name(), toondb_storage::KV_KEYSPACE);
    // A keyspace that was never written reads as empty.
    let empty = db.keyspace("never").unwrap();
    let txn = db.begin_transaction().unwrap();
    assert_eq!(txn.get(&empty, b"x").unwrap(), None);
    assert_eq!(txn.scan_prefix(&empty, b"").unwrap().count(), 0);
    for bad in ["", "__meta", "has space", "sl/ash"] {
        assert!(
            matches!(db.keyspace(bad), Err(Error::InvalidKeyspace { .. })),
            "{bad:?}"
        );
    }
}

#[test]
fn oversized_keys_and_values_are_refused() {
    let (_d, db) = open();
    let big_key = vec![1u8; MAX_KEY_LEN + 1];
    assert!(matches!(
        db.put(&big_key, b"v"),
        Err(Error::KeyTooLarge { .. })
    ));
    assert!(matches!(
        db.delete(&big_key),
        Err(Error::KeyTooLarge { .. })
    ));
    let ok_key = vec![1u8; MAX_KEY_LEN];
    db.put(&ok_key, b"v").unwrap();
    assert_eq!(db.get(&ok_key).unwrap().as_deref(), Some(&b"v"[..]));
    // Checking the value limit must not need a 256 MiB allocation per test run:
    // the check happens before anything is copied, so one allocation suffices.
    let big_value = vec![0u8; MAX_VALUE_LEN + 1];
    assert!(matches!(
        db.put(b"k", &big_value),
        Err(Error::ValueTooLarge { .. })
    ));
    let kv = db.kv_keyspace();
    let mut txn = db.begin_transaction().unwrap();
    assert!(matches!(
        txn.put(&kv, b"k", &big_value),
        Err(Error::ValueTooLarge { .. })
    ));
    assert!(matches!(
        txn.put(&kv, &big_key, b""),
        Err(Error::KeyTooLarge { .. })
    ));
}

#[test]
fn stats_count_what_they_say() {
    let (_d, db) = open();
    let s0 = db.stats().unwrap();
    assert_eq!(s0.keys_count, 0);
    db.put(b"ab", b"cde").unwrap(); // 5 bytes
    db.put(b"x", b"y").unwrap(); // 2 bytes
    db.delete(b"x").unwrap();
    db.get(b"ab").unwrap(); // 5 bytes read
    db.get(b"missing").unwrap(); // a query, no bytes
    let _ = db.scan_prefix(b"").unwrap().count(); // a query, 5 bytes
    let txn = db.begin_transaction().unwrap();
    txn.abort();
    let s = db.stats().unwrap();
    assert_eq!(s.keys_count, 1);
    assert_eq!(s.bytes_written, 7);
    assert_eq!(s.bytes_read, 10);
    assert_eq!(s.transactions_committed, 3);
    assert_eq!(s.transactions_aborted, 1);
    // stats() itself reads nothing through the counted paths.
    assert_eq!(s.queries_executed, 3);
    assert!(s.cache_hits + s.cache_misses > 0);
    assert_eq!(s.last_commit_seq, db.last_commit_seq().unwrap());
}

#[test]
fn checkpoint_in_every_mode() -> Result<()> {
    for mode in [SyncMode::Full, SyncMode::Normal, SyncMode::Off] {
        let dir = tempfile::tempdir()?;
        {
            let db = Database::builder().sync_mode(mode).open(dir.path())?;
            assert_eq!(db.sync_mode(), mode);
            db.put(b"k", b"v")?;
            db.checkpoint()?;
        }
        let db = Database::open(dir.path())?;
        assert_eq!(db.get(b"k")?.as_deref(), Some(&b"v"[..]), "{mode:?}");
    }
    Ok(())
}

#[test]
fn open_errors_are_typed() {
    let dir = tempfile::tempdir().unwrap();
    // Missing directory without create_if_missing.
    let missing = dir.path().join("nope");
    let err = Database::builder()
        .create_if_missing(false)
        .open(&missing)
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    assert!(!missing.exists());
    // A file where a directory is expected.
    let file = dir.path().join("file");
    std::fs::write(&file, b"hello").unwrap();
    assert!(matches!(
        Database::open(&file),
        Err(Error::NotADatabase { .. })
    ));
    // A data file that is not redb at all.
    let garbage = dir.path().join("garbage");
    std::fs::create_dir(&garbage).unwrap();
    std::fs::write(garbage.join("toondb.redb"), vec![0x5Au8; 8192]).unwrap();
    let err = Database::open(&garbage).unwrap_err();
    assert!(
        matches!(err, Error::NotADatabase { .. } | Error::Corrupted(_)),
        "{err}"
    );
    // A redb file written by another program.
    let foreign = dir.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    {
        let db = redb::Database::create(foreign.join("toondb.redb")).unwrap();
        let def: redb::TableDefinition<'_, &str, u64> = redb::TableDefinition::new("theirs");
        let w = db.begin_write().unwrap();
        w.open_table(def).unwrap().insert("x", 1).unwrap();
        w.commit().unwrap();
    }
    let err = Database::open(&foreign).unwrap_err();
    assert!(matches!(err, Error::NotADatabase { .. }), "{err}");
}

#[test]
fn a_damaged_file_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        let kv = db.kv_keyspace();
        let mut txn = db.begin_transaction().unwrap();
        for i in 0..2000u32 {
            txn.put(&kv, &i.to_be_bytes(), &[7u8; 100]).unwrap();
        }
        txn.commit().unwrap();
    }
    let file = dir.path().join("toondb.redb");
    let mut bytes = std::fs::read(&file).unwrap();
    // Overwrite the header (magic number and both commit slots).
    for b in bytes.iter_mut().take(512) {
        *b ^= 0xA5;
    }
    std::fs::write(&file, &bytes).unwrap();
    let err = Database::open(dir.path()).unwrap_err();
    assert!(
        matches!(err, Error::NotADatabase { .. } | Error::Corrupted(_)),
        "{err}"
    );
    // Truncation.
    std::fs::write(&file, &bytes[..100]).unwrap();
    assert!(Database::open(dir.path()).is_err());
}

#[test]
fn read_only_directory() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    if std::fs::write(ro.join("probe"), b"x").is_ok() {
        eprintln!("skipped: running as a user that ignores directory permissions (root)");
        return;
    }
    let err = Database::open(&ro).unwrap_err();
    assert!(matches!(err, Error::ReadOnly { .. }), "{err}");
}

#[test]
fn a_second_process_gets_a_locked_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = common::spawn_child("lock_holder_child", dir.path().to_str().unwrap());
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("READY") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "child exited early");
    }
    let err = Database::open(dir.path()).unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    assert!(err.to_string().contains("locked"));
    drop(child.stdin.take()); // tells the child to exit
    assert!(child.wait().unwrap().success());
    // Once the holder is gone the database opens again.
    Database::open(dir.path()).unwrap();
}

#[test]
fn lock_holder_child() {
    let Some(dir) = common::child_arg() else {
        return;
    };
    let _db = Database::open(&dir).unwrap();
    println!("READY");
    std::io::stdout().flush().unwrap();
    let mut sink = String::new();
    let _ = std::io::stdin().read_line(&mut sink); // returns when the parent closes stdin
}

#[test]
fn put_many_moves_a_batch_in_and_rejects_it_whole() {
    let (_d, db) = open();
    let ks = db.keyspace("rows").unwrap();
    let mut txn = db.begin_transaction().unwrap();
    txn.put(&ks, b"keep", b"0").unwrap();
    txn.put(&ks, b"gone", b"0").unwrap();
    let batch = |pairs: &[(&[u8], Option<&[u8]>)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_vec(), v.map(<[u8]>::to_vec)))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    // One oversized value: an error, and nothing of the batch is buffered.
    let big = vec![0u8; MAX_VALUE_LEN + 1];
    let bad = batch(&[(b"a", Some(b"1")), (b"z", Some(&big))]);
    assert!(matches!(
        txn.put_many(&ks, bad),
        Err(Error::ValueTooLarge { .. })
    ));
    assert_eq!(txn.get(&ks, b"a").unwrap(), None);
    // A good batch merges into the earlier writes: puts overwrite, `None` deletes.
    txn.put_many(
        &ks,
        batch(&[(b"a", Some(b"1")), (b"gone", None), (b"keep", Some(b"2"))]),
    )
    .unwrap();
    txn.commit().unwrap();
    let all: Vec<(Vec<u8>, Vec<u8>)> = db
        .begin_transaction()
        .unwrap()
        .scan_prefix(&ks, b"")
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(
        all,
        vec![
            (b"a".to_vec(), b"1".to_vec()),
            (b"keep".to_vec(), b"2".to_vec())
        ]
    );
}

#[test]
fn an_empty_batch_leaves_a_transaction_read_only() {
    let (_d, db) = open();
    let ks = db.keyspace("rows").unwrap();
    let before = db.stats().unwrap();
    let mut txn = db.begin_transaction().unwrap();
    txn.put_many(&ks, Default::default()).unwrap();
    let seq = txn.commit().unwrap();
    // A read-only commit returns its snapshot's sequence and writes nothing.
    assert_eq!(seq, 0);
    assert_eq!(db.stats().unwrap().bytes_written, before.bytes_written);
}
