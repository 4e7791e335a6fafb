//! SQL through the façade: autocommit, parameters, SQL and KV in one transaction, and
//! SQL errors mapped to stable codes.

use toondb::sql::Value;
use toondb::{Database, ErrorCode};

#[test]
fn sql_and_kv_share_transactions() -> toondb::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = Database::open(dir.path())?;
    db.execute_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)")?;
    db.execute_sql_with_params(
        "INSERT INTO t (name) VALUES (?), (?)",
        &["a".into(), "b".into()],
    )?;
    // Committed together.
    db.transaction(|txn| {
        txn.execute("INSERT INTO t (name) VALUES ('c')")?;
        txn.put(b"log/c", b"inserted")?;
        Ok(())
    })?;
    assert_eq!(
        db.execute_sql("SELECT count(*) FROM t")?.scalar(),
        Some(&Value::Integer(3))
    );
    assert_eq!(db.get(b"log/c")?.as_deref(), Some(&b"inserted"[..]));
    // Rolled back together: the closure fails after both writes.
    let err = db
        .transaction(|txn| {
            txn.put(b"log/d", b"inserted")?;
            txn.execute("INSERT INTO t (name) VALUES ('d')")?;
            txn.execute("INSERT INTO t (name) VALUES ('a')")?; // UNIQUE violation
            Ok(())
        })
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::SqlConstraintViolation);
    assert_eq!(
        db.execute_sql("SELECT count(*) FROM t")?.scalar(),
        Some(&Value::Integer(3))
    );
    assert_eq!(db.get(b"log/d")?, None);
    // A transaction sees its own SQL writes.
    let mut txn = db.begin_transaction()?;
    txn.execute("DELETE FROM t WHERE name = 'a'")?;
    let r = txn.execute("SELECT count(*) FROM t")?;
    assert_eq!(r.scalar(), Some(&Value::Integer(2)));
    txn.abort();
    assert_eq!(
        db.execute_sql("SELECT count(*) FROM t")?.scalar(),
        Some(&Value::Integer(3))
    );
    Ok(())
}

#[test]
fn sql_errors_have_codes() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.execute_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER NOT NULL)")
        .unwrap();
    let cases = [
        ("SELEC 1", ErrorCode::SqlSyntax),
        ("SELECT * FROM missing", ErrorCode::SqlNotFound),
        ("SELECT nope FROM t", ErrorCode::SqlNotFound),
        ("CREATE TABLE t (a INTEGER)", ErrorCode::SqlAlreadyExists),
        (
            "INSERT INTO t (id) VALUES (1)",
            ErrorCode::SqlConstraintViolation,
        ),
        ("COMMIT", ErrorCode::SqlTransaction),
    ];
    for (sql, code) in cases {
        let err = db.execute_sql(sql).unwrap_err();
        assert_eq!(err.code(), code, "{sql}: {err}");
        assert!(!err.remediation().is_empty());
    }
}

#[test]
fn savepoints_undo_sql_and_kv_writes_together() -> toondb::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = Database::open(dir.path())?;
    db.execute_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)")?;
    db.transaction(|txn| {
        txn.execute("INSERT INTO t VALUES (1, 'kept')")?;
        let sp = txn.savepoint();
        txn.execute("INSERT INTO t VALUES (2, 'undone')")?;
        txn.execute("UPDATE t SET name = 'changed' WHERE id = 1")?;
        txn.put(b"k", b"undone")?;
        // A failing statement under the savepoint undoes only itself.
        assert!(txn.execute("INSERT INTO t VALUES (3, 'undone')").is_err());
        assert_eq!(
            txn.execute("SELECT count(*) FROM t")?.scalar(),
            Some(&Value::Integer(2))
        );
        txn.rollback_to(sp)?;
        assert_eq!(txn.get(b"k")?, None);
        txn.execute("INSERT INTO t VALUES (2, 'after')")?;
        Ok(())
    })?;
    let r = db.execute_sql("SELECT id, name FROM t ORDER BY id")?;
    let rows: Vec<_> = r.rows.iter().map(|row| row.values().to_vec()).collect();
    assert_eq!(
        rows,
        vec![
            vec![Value::Integer(1), Value::from("kept")],
            vec![Value::Integer(2), Value::from("after")],
        ]
    );
    Ok(())
}
