//! ToonDB quick start: the KV, path, scan and transaction API on an embedded database.
//!
//! Run with `cargo run --example quickstart` (optionally pass a directory; by default a
//! fresh temporary one is used and removed at the end).

use toondb::{Database, ErrorCode, SyncMode};

fn main() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let dir = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().join("quickstart-db"));
    let db = Database::builder().sync_mode(SyncMode::Full).open(&dir)?;
    println!(
        "opened {} (sync mode Full: every acknowledged write is fsynced)",
        dir.display()
    );

    // --- Key-value -------------------------------------------------------------
    let seq = db.put(b"config/theme", b"dark")?;
    println!("put config/theme = dark            (commit #{seq})");
    let theme = db.get(b"config/theme")?.unwrap_or_default();
    println!("get config/theme -> {}", String::from_utf8_lossy(&theme));
    db.put(b"config/obsolete", b"1")?;
    db.delete(b"config/obsolete")?;
    println!(
        "delete config/obsolete -> now {:?}",
        db.get(b"config/obsolete")?
    );

    // --- Paths -----------------------------------------------------------------
    for (path, value) in [
        ("users/alice/email", "alice@example.com"),
        ("users/alice/plan", "pro"),
        ("users/bob/email", "bob@example.com"),
        ("users/carol/email", "carol@example.com"),
    ] {
        db.put_path(path, value.as_bytes())?;
    }
    println!(
        "children of users       -> {:?}",
        db.list_children("users")?
    );
    println!(
        "children of users/alice -> {:?}",
        db.list_children("users/alice")?
    );
    let err = db.put_path("users//bad", b"x").unwrap_err();
    println!("put_path(\"users//bad\") -> {} [{}]", err, err.code());

    // --- Scans -----------------------------------------------------------------
    println!("scan_prefix users/:");
    for pair in db.scan_prefix(b"users/")? {
        let (k, v) = pair?;
        println!(
            "  {} = {}",
            String::from_utf8_lossy(&k),
            String::from_utf8_lossy(&v)
        );
    }
    let reversed: Vec<String> = db
        .scan_reverse(b"users/", b"users0")?
        .map(|r| r.map(|(k, _)| String::from_utf8_lossy(&k).into_owned()))
        .collect::<Result<_, _>>()?;
    println!("scan_reverse users/ -> {reversed:?}");
    for (i, batch) in db.scan_batched(b"users/", b"users0", 2)?.enumerate() {
        println!("  batch {i}: {} pairs", batch?.len());
    }

    // --- Transactions ----------------------------------------------------------
    db.put(b"acct/alice", &100u64.to_be_bytes())?;
    db.put(b"acct/bob", &50u64.to_be_bytes())?;
    let ((), attempts) = db.transaction_with_retry(10, |txn| {
        let read = |v: Option<Vec<u8>>| {
            v.map_or(0, |b| u64::from_be_bytes(b.try_into().unwrap_or([0; 8])))
        };
        let alice = read(txn.get(b"acct/alice")?);
        let bob = read(txn.get(b"acct/bob")?);
        txn.put(b"acct/alice", &(alice - 30).to_be_bytes())?;
        txn.put(b"acct/bob", &(bob + 30).to_be_bytes())?;
        Ok(())
    })?;
    println!("transferred 30 from alice to bob in {attempts} attempt(s)");

    // Two transactions write the same key: the first committer wins.
    let mut t1 = db.begin_transaction()?;
    let mut t2 = db.begin_transaction()?;
    t1.put(b"winner", b"t1")?;
    t2.put(b"winner", b"t2")?;
    let seq = t1.commit()?;
    let err = t2.commit().unwrap_err();
    assert_eq!(err.code(), ErrorCode::TransactionConflict);
    println!(
        "t1 committed as #{seq}; t2 -> {} (retryable: {})",
        err.code(),
        err.is_retryable()
    );

    // --- Stats and checkpoint ----------------------------------------------------
    db.checkpoint()?;
    let s = db.stats()?;
    println!(
        "stats: {} keys, {} bytes written, {} bytes read, {} commits, {} aborts, {} queries",
        s.keys_count,
        s.bytes_written,
        s.bytes_read,
        s.transactions_committed,
        s.transactions_aborted,
        s.queries_executed
    );
    Ok(())
}
