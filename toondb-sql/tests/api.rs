//! The public API: results, errors and codes, transactions with KV writes, sessions,
//! concurrency, persistence, parameters and the statement cache, and hostile input.

use std::sync::Arc;

use rand::{Rng, SeedableRng};
use toondb_sql::arrow::datatypes::DataType;
use toondb_sql::{Error, ErrorCode, ObjectKind, SqlEngine, Value};

fn open() -> (tempfile::TempDir, toondb_storage::Database, SqlEngine) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = toondb_storage::Database::builder()
        .sync_mode(toondb_storage::SyncMode::Off)
        .open(dir.path())
        .expect("open");
    let sql = SqlEngine::new(&db).expect("engine");
    (dir, db, sql)
}

fn setup(sql: &SqlEngine) {
    sql.execute(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, active BOOLEAN, avatar BLOB);
         INSERT INTO users VALUES (1, 'ann', 9.5, TRUE, x'0102'), (2, 'bob', NULL, FALSE, NULL), (3, 'cy', 7.0, TRUE, NULL)",
    )
    .expect("setup");
}

#[test]
fn results_by_name_position_json_table_and_arrow() {
    let (_d, _db, sql) = open();
    setup(&sql);
    let r = sql
        .execute("SELECT id, name AS who, score, active, avatar FROM users ORDER BY id")
        .unwrap();
    assert_eq!(r.columns, vec!["id", "who", "score", "active", "avatar"]);
    assert_eq!(r.len(), 3);
    assert_eq!(r.rows[0].get_by_name("WHO"), Some(&Value::from("ann")));
    assert_eq!(r.rows[1].get(2), Some(&Value::Null));
    assert_eq!(r.rows[0].get(9), None);
    let names: Vec<&Value> = r.iter().map(|row| row.get(1).unwrap()).collect();
    assert_eq!(
        names,
        vec![&Value::from("ann"), &Value::from("bob"), &Value::from("cy")]
    );
    let json = r.to_json();
    assert_eq!(json["columns"][1], "who");
    assert_eq!(json["rows"][0][0], 1);
    assert_eq!(json["rows"][0][4], "0102");
    assert_eq!(r.rows_json()[1]["score"], serde_json::Value::Null);
    let table = r.to_table_string();
    assert!(
        table.lines().next().unwrap().starts_with("id | who"),
        "{table}"
    );
    assert!(table.contains("(3 rows)"), "{table}");
    assert_eq!(format!("{r}"), table);

    let batch = r.to_record_batch().unwrap();
    assert_eq!(batch.num_rows(), 3);
    let schema = batch.schema();
    let types: Vec<&DataType> = schema.fields().iter().map(|f| f.data_type()).collect();
    assert_eq!(
        types,
        vec![
            &DataType::Int64,
            &DataType::Utf8,
            &DataType::Float64,
            &DataType::Boolean,
            &DataType::Binary
        ]
    );
    assert_eq!(batch.column(2).null_count(), 1);

    let dml = sql
        .execute("UPDATE users SET score = 0 WHERE score IS NULL")
        .unwrap();
    assert_eq!(dml.rows_affected, 1);
    assert!(dml.columns.is_empty());
    assert_eq!(dml.to_toon("users"), "rows_affected: 1");
    assert_eq!(
        sql.execute("SELECT count(*) FROM users").unwrap().scalar(),
        Some(&Value::Integer(3))
    );
}

#[test]
fn results_render_as_toon_that_decodes_back() {
    let (_d, _db, sql) = open();
    setup(&sql);
    let r = sql
        .execute("SELECT id, name, score, name FROM users ORDER BY id")
        .unwrap();
    // A repeated column gets a distinct field name, in TOON and in JSON objects alike.
    assert_eq!(r.unique_columns(), ["id", "name", "score", "name_2"]);
    let toon = r.to_toon("users");
    assert!(
        toon.starts_with("users[3]{id,name,score,name_2}:\n  1,ann,"),
        "{toon}"
    );
    let back = toondb_toon::decode_value(&toon, &toondb_toon::DecodeOptions::new()).unwrap();
    // TOON and JSON renderings agree (TOON writes the real 7.0 in canonical form, `7`).
    let json_rows = r.rows_json();
    for (i, (t, j)) in back["users"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&json_rows)
        .enumerate()
    {
        for f in ["id", "name", "name_2"] {
            assert_eq!(t[f], j[f], "row {i} field {f}");
        }
        assert_eq!(t["score"].as_f64(), j["score"].as_f64(), "row {i} score");
    }
    assert_eq!(json_rows.len(), 3);
    assert_eq!(r.rows[0].to_json()["name_2"], "ann");

    // Streaming into a writer with a tab delimiter.
    let opts = toondb_toon::EncodeOptions::new().delimiter(toondb_toon::Delimiter::Tab);
    let out = r.write_toon(Vec::new(), "t", &opts).unwrap();
    assert!(
        String::from_utf8(out)
            .unwrap()
            .starts_with("t[3\t]{id\tname\tscore\tname_2}:")
    );

    // No rows: the specification's empty array.
    let empty = sql.execute("SELECT id FROM users WHERE id < 0").unwrap();
    assert_eq!(empty.to_toon("users"), "users: []");
}

#[test]
fn errors_are_typed_with_codes_and_positions() {
    let (_d, _db, sql) = open();
    setup(&sql);
    let code = |s: &str| sql.execute(s).unwrap_err().code();

    match sql.execute("SELECT *\nFORM users").unwrap_err() {
        Error::Syntax {
            location: Some(l), ..
        } => assert_eq!((l.line, l.column), (2, 1)),
        e => panic!("expected a syntax error with a location, got {e:?}"),
    }
    match sql.execute("SELECT id,\n  nme FROM users").unwrap_err() {
        Error::UnknownColumn {
            column,
            location: Some(l),
            ..
        } => {
            assert_eq!(column, "nme");
            assert_eq!((l.line, l.column), (2, 3));
        }
        e => panic!("{e:?}"),
    }
    match sql.execute("SELECT * FROM nosuch").unwrap_err() {
        Error::UnknownTable { table, .. } => assert_eq!(table, "nosuch"),
        e => panic!("{e:?}"),
    }
    match sql.execute("SELECT id FROM users a, users b").unwrap_err() {
        Error::AmbiguousColumn { column, tables, .. } => {
            assert_eq!(column, "id");
            assert_eq!(tables, vec!["a", "b"]);
        }
        e => panic!("{e:?}"),
    }
    match sql
        .execute("INSERT INTO users (id) VALUES (9)")
        .unwrap_err()
    {
        Error::NotNullViolation { table, column } => {
            assert_eq!((table.as_str(), column.as_str()), ("users", "name"))
        }
        e => panic!("{e:?}"),
    }
    match sql
        .execute("INSERT INTO users (id, name) VALUES (1, 'dup')")
        .unwrap_err()
    {
        Error::UniqueViolation {
            table,
            columns,
            primary_key,
        } => {
            assert_eq!(table, "users");
            assert_eq!(columns, vec!["id"]);
            assert!(primary_key);
        }
        e => panic!("{e:?}"),
    }
    match sql
        .execute("INSERT INTO users (id, name) VALUES ('x', 'y')")
        .unwrap_err()
    {
        Error::TypeMismatch { table, column, .. } => {
            assert_eq!(table.as_deref(), Some("users"));
            assert_eq!(column.as_deref(), Some("id"));
        }
        e => panic!("{e:?}"),
    }
    match sql
        .execute("CREATE TRIGGER t AFTER INSERT ON users BEGIN SELECT 1; END")
        .unwrap_err()
    {
        Error::Unsupported { feature } => assert!(feature.contains("TRIGGER"), "{feature}"),
        e => panic!("{e:?}"),
    }
    assert_eq!(
        code("CREATE TABLE users (x INTEGER)"),
        ErrorCode::AlreadyExists
    );
    assert_eq!(
        code("SELECT count(*) FROM users WHERE count(*) > 1"),
        ErrorCode::InvalidArgument
    );
    assert_eq!(code("SELECT abs(1, 2)"), ErrorCode::InvalidArgument);
    assert_eq!(code("SELECT nosuchfn(1)"), ErrorCode::Unsupported);
    assert_eq!(code("BEGIN"), ErrorCode::Transaction);
    assert_eq!(
        sql.execute_with_params("SELECT ?", &[]).unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        sql.execute_with_params("SELECT 1", &[Value::Integer(1)])
            .unwrap_err()
            .code(),
        ErrorCode::InvalidArgument
    );
    // Messages name the object.
    let msg = sql
        .execute("INSERT INTO users (id, name) VALUES (2, 'x')")
        .unwrap_err()
        .to_string();
    assert_eq!(msg, "PRIMARY KEY constraint failed: users.id");
    // Nothing above changed the data.
    assert_eq!(
        sql.execute("SELECT count(*) FROM users").unwrap().scalar(),
        Some(&Value::Integer(3))
    );
}

#[test]
fn parameters_and_statement_cache() {
    let (_d, _db, sql) = open();
    sql.execute("CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)")
        .unwrap();
    for i in 0..50 {
        sql.execute_with_params(
            "INSERT INTO kv VALUES (?, ?)",
            &[Value::Integer(i), Value::Text(format!("v{i}"))],
        )
        .unwrap();
    }
    // 50 executions of one INSERT text: parsed once, planned once.
    let stats = sql.cache_stats();
    assert_eq!(stats.parses, 2, "{stats:?}");
    assert_eq!(stats.plans, 2, "{stats:?}");
    assert_eq!(stats.plan_hits, 49, "{stats:?}");
    let r = sql
        .execute_with_params(
            "SELECT v FROM kv WHERE k = $2 OR k = $1 ORDER BY k",
            &[7.into(), 3.into()],
        )
        .unwrap();
    assert_eq!(r.rows.len(), 2);
    assert_eq!(r.rows[0].get(0), Some(&Value::from("v3")));
    let r = sql
        .execute_with_params(
            "SELECT count(*) FROM kv WHERE k BETWEEN ?1 AND ?2",
            &[10.into(), 19.into()],
        )
        .unwrap();
    assert_eq!(r.scalar(), Some(&Value::Integer(10)));
    // The cached plan of `SELECT *` must follow schema changes.
    let before = sql.execute("SELECT * FROM kv WHERE k = 1").unwrap();
    assert_eq!(before.columns.len(), 2);
    sql.execute("ALTER TABLE kv ADD COLUMN extra INTEGER DEFAULT 5")
        .unwrap();
    let after = sql.execute("SELECT * FROM kv WHERE k = 1").unwrap();
    assert_eq!(after.columns, vec!["k", "v", "extra"]);
    assert_eq!(after.rows[0].get(2), Some(&Value::Integer(5)));
}

/// Each transaction reads its own catalog: DDL inside a transaction is seen by that
/// transaction's later statements (the engine remembers a catalog per transaction and
/// forgets it on the transaction's own DDL), and not by a transaction that began earlier.
#[test]
fn ddl_inside_a_transaction_is_seen_by_it_alone() {
    let (_d, db, sql) = open();
    sql.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")
        .unwrap();
    let mut a = db.begin_transaction().unwrap();
    let mut b = db.begin_transaction().unwrap();
    let run = |txn: &mut toondb_storage::Transaction, q: &str| sql.execute_in(txn, q, &[]);
    run(&mut a, "INSERT INTO t VALUES (1, 10)").unwrap();
    run(&mut a, "ALTER TABLE t ADD COLUMN w TEXT DEFAULT 'x'").unwrap();
    run(&mut a, "INSERT INTO t VALUES (2, 20, 'y')").unwrap();
    run(&mut a, "CREATE TABLE u (k INTEGER)").unwrap();
    run(&mut a, "INSERT INTO u VALUES (5)").unwrap();
    // `b` began before `a`'s DDL: its catalog has neither `w` nor `u`.
    assert!(run(&mut b, "INSERT INTO t VALUES (3, 30, 'z')").is_err());
    assert!(matches!(
        run(&mut b, "SELECT * FROM u"),
        Err(Error::UnknownTable { .. })
    ));
    run(&mut b, "INSERT INTO t VALUES (3, 30)").unwrap();
    // Back in `a`, after `b` ran: `a` still sees its own schema.
    let r = run(&mut a, "SELECT w FROM t ORDER BY id").unwrap();
    assert_eq!(
        r.rows
            .iter()
            .map(|r| r.values()[0].clone())
            .collect::<Vec<_>>(),
        [Value::Text("x".into()), Value::Text("y".into())]
    );
    a.commit().unwrap();
    drop(b);
    assert_eq!(
        sql.execute("SELECT count(*) FROM u").unwrap().scalar(),
        Some(&Value::Integer(1))
    );

    // A session: DDL inside BEGIN is used by the next statements, gone after ROLLBACK.
    let mut s = sql.session();
    s.execute("BEGIN").unwrap();
    s.execute("CREATE TABLE v (x INTEGER)").unwrap();
    s.execute("INSERT INTO v VALUES (1)").unwrap();
    s.execute("DROP TABLE v").unwrap();
    assert!(matches!(
        s.execute("INSERT INTO v VALUES (2)"),
        Err(Error::UnknownTable { .. })
    ));
    s.execute("CREATE TABLE v (x INTEGER, y INTEGER)").unwrap();
    s.execute("INSERT INTO v VALUES (2, 3)").unwrap();
    s.execute("ROLLBACK").unwrap();
    assert!(matches!(
        s.execute("SELECT * FROM v"),
        Err(Error::UnknownTable { .. })
    ));
}

#[test]
fn sql_and_kv_writes_share_a_storage_transaction() {
    let (_d, db, sql) = open();
    sql.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")
        .unwrap();
    let kv = db.kv_keyspace();

    // Aborted: neither the row nor the KV pair exist.
    let mut txn = db.begin_transaction().unwrap();
    sql.execute_in(&mut txn, "INSERT INTO t VALUES (1, 10)", &[])
        .unwrap();
    txn.put(&kv, b"k", b"v").unwrap();
    assert_eq!(
        sql.execute_in(&mut txn, "SELECT count(*) FROM t", &[])
            .unwrap()
            .scalar(),
        Some(&Value::Integer(1))
    );
    txn.abort();
    assert_eq!(
        sql.execute("SELECT count(*) FROM t").unwrap().scalar(),
        Some(&Value::Integer(0))
    );
    assert_eq!(db.get(b"k").unwrap(), None);

    // Committed: both.
    let mut txn = db.begin_transaction().unwrap();
    sql.execute_in(
        &mut txn,
        "INSERT INTO t VALUES (?, ?)",
        &[1.into(), 10.into()],
    )
    .unwrap();
    txn.put(&kv, b"k", b"v").unwrap();
    // A failing statement inside the transaction changes nothing of it.
    assert!(
        sql.execute_in(&mut txn, "INSERT INTO t VALUES (2, 20), (1, 11)", &[])
            .is_err()
    );
    txn.commit().unwrap();
    assert_eq!(sql.execute("SELECT * FROM t").unwrap().rows.len(), 1);
    assert_eq!(db.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));

    // Two transactions updating the same row: the second committer gets a retryable conflict.
    let mut a = db.begin_transaction().unwrap();
    let mut b = db.begin_transaction().unwrap();
    sql.execute_in(&mut a, "UPDATE t SET v = v + 1 WHERE id = 1", &[])
        .unwrap();
    sql.execute_in(&mut b, "UPDATE t SET v = v + 100 WHERE id = 1", &[])
        .unwrap();
    a.commit().unwrap();
    let err = Error::from(b.commit().unwrap_err());
    assert!(err.is_retryable());
    assert_eq!(err.code(), ErrorCode::Conflict);
    assert_eq!(
        sql.execute("SELECT v FROM t").unwrap().scalar(),
        Some(&Value::Integer(11))
    );
}

#[test]
fn concurrent_autocommit_writers_and_readers() {
    let (_d, _db, sql) = open();
    sql.execute("CREATE TABLE c (id INTEGER PRIMARY KEY, thread INTEGER, n INTEGER)")
        .unwrap();
    let sql = Arc::new(sql);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let sql = sql.clone();
            std::thread::spawn(move || {
                for i in 0..100 {
                    sql.execute_with_params(
                        "INSERT INTO c (thread, n) VALUES (?, ?)",
                        &[t.into(), i.into()],
                    )
                    .expect("insert (autocommit retries conflicts)");
                    if i % 10 == 0 {
                        let r = sql.execute("SELECT count(*) FROM c").expect("read");
                        assert!(r.scalar().and_then(Value::as_i64).unwrap_or(0) >= 1);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let r = sql
        .execute(
            "SELECT thread, count(*), count(DISTINCT id) FROM c GROUP BY thread ORDER BY thread",
        )
        .unwrap();
    assert_eq!(r.len(), 4);
    for row in &r {
        assert_eq!(row.get(1), Some(&Value::Integer(100)));
        assert_eq!(row.get(2), Some(&Value::Integer(100)));
    }
}

#[test]
fn data_and_schema_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = toondb_storage::Database::open(dir.path()).unwrap();
        let sql = SqlEngine::new(&db).unwrap();
        sql.execute("CREATE TABLE p (a TEXT PRIMARY KEY, b INTEGER); CREATE INDEX p_b ON p (b)")
            .unwrap();
        sql.execute("INSERT INTO p VALUES ('x', 1), ('y', 2), ('z', 2)")
            .unwrap();
    }
    let db = toondb_storage::Database::open(dir.path()).unwrap();
    let sql = SqlEngine::new(&db).unwrap();
    let r = sql
        .execute("SELECT a FROM p WHERE b = 2 ORDER BY a")
        .unwrap();
    assert_eq!(r.rows.len(), 2);
    let plan = sql.execute("EXPLAIN SELECT a FROM p WHERE b = 2").unwrap();
    assert!(plan.rows.iter().any(|r| {
        r.get(0)
            .and_then(Value::as_str)
            .is_some_and(|s| s.contains("USING INDEX p_b"))
    }));
}

#[test]
fn views_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = toondb_storage::Database::open(dir.path()).unwrap();
        let sql = SqlEngine::new(&db).unwrap();
        sql.execute(
            "CREATE TABLE p (a INTEGER PRIMARY KEY, b TEXT);
             INSERT INTO p VALUES (1, 'x'), (2, 'it''s'), (3, NULL);
             CREATE VIEW pv (k, label) AS SELECT a, b FROM p WHERE b IS NOT NULL;
             CREATE VIEW pv2 AS SELECT label FROM pv WHERE label <> 'x'",
        )
        .unwrap();
    }
    let db = toondb_storage::Database::open(dir.path()).unwrap();
    let sql = SqlEngine::new(&db).unwrap();
    let r = sql.execute("SELECT * FROM pv ORDER BY k").unwrap();
    assert_eq!(r.columns, vec!["k", "label"]);
    assert_eq!(r.rows.len(), 2);
    assert_eq!(
        sql.execute("SELECT * FROM pv2").unwrap().scalar(),
        Some(&Value::from("it's"))
    );
    assert_eq!(
        sql.execute("SELECT count(*) FROM p WHERE a IN pv2")
            .unwrap()
            .scalar(),
        Some(&Value::Integer(0))
    );
    sql.execute("DROP VIEW pv2").unwrap();
    drop(sql);
    drop(db);
    let db = toondb_storage::Database::open(dir.path()).unwrap();
    let sql = SqlEngine::new(&db).unwrap();
    assert!(matches!(
        sql.execute("SELECT * FROM pv2").unwrap_err(),
        Error::UnknownTable { .. }
    ));
    assert_eq!(sql.execute("SELECT * FROM pv").unwrap().rows.len(), 2);
}

#[test]
fn view_errors_are_typed_and_name_the_object() {
    let (_d, _db, sql) = open();
    setup(&sql);
    sql.execute("CREATE VIEW uv AS SELECT id, name FROM users")
        .unwrap();
    match sql.execute("CREATE VIEW uv AS SELECT 1").unwrap_err() {
        Error::AlreadyExists { kind, name } => assert_eq!((kind, name.as_str()), ("view", "uv")),
        e => panic!("{e:?}"),
    }
    match sql.execute("CREATE VIEW users AS SELECT 1").unwrap_err() {
        Error::AlreadyExists { kind, name } => {
            assert_eq!((kind, name.as_str()), ("table", "users"))
        }
        e => panic!("{e:?}"),
    }
    match sql.execute("DROP VIEW nope").unwrap_err() {
        e @ Error::UnknownView { .. } => {
            assert_eq!(e.code(), ErrorCode::NotFound);
            assert_eq!(e.to_string(), "no such view: nope");
        }
        e => panic!("{e:?}"),
    }
    match sql
        .execute("CREATE VIEW bad AS SELECT id FROM nosuch")
        .unwrap_err()
    {
        Error::UnknownTable { table, .. } => assert_eq!(table, "nosuch"),
        e => panic!("{e:?}"),
    }
    for (stmt, msg) in [
        ("DROP VIEW users", "use DROP TABLE to delete table users"),
        ("DROP TABLE uv", "use DROP VIEW to delete view uv"),
        (
            "INSERT INTO uv VALUES (1, 'a')",
            "cannot modify uv because it is a view",
        ),
        (
            "UPDATE uv SET name = 'a'",
            "cannot modify uv because it is a view",
        ),
        ("DELETE FROM uv", "cannot modify uv because it is a view"),
    ] {
        let e = sql.execute(stmt).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{stmt}");
        assert!(e.to_string().contains(msg), "{stmt}: {e}");
    }
    assert_eq!(
        sql.execute("CREATE TEMP VIEW tv AS SELECT 1")
            .unwrap_err()
            .code(),
        ErrorCode::Unsupported
    );
    // `x IN table` needs a one-column table.
    let e = sql.execute("SELECT 1 IN uv").unwrap_err();
    assert!(
        e.to_string()
            .contains("sub-select returns 2 columns - expected 1"),
        "{e}"
    );
    // Positions in errors refer to the text as written, also after the IN-table rewrite.
    sql.execute("CREATE TABLE ids (id INTEGER)").unwrap();
    match sql
        .execute("SELECT 1 IN ids, nosuch FROM users")
        .unwrap_err()
    {
        Error::UnknownColumn {
            column,
            location: Some(l),
            ..
        } => {
            assert_eq!(column, "nosuch");
            assert_eq!((l.line, l.column), (1, 18));
        }
        e => panic!("{e:?}"),
    }
    // An error inside a view's stored SELECT carries no position (it would be a position
    // in the view's text, not in the statement).
    sql.execute(
        "CREATE TABLE gone (g INTEGER); CREATE VIEW gv AS SELECT g FROM gone; DROP TABLE gone",
    )
    .unwrap();
    match sql.execute("SELECT * FROM gv").unwrap_err() {
        Error::UnknownTable { table, location } => {
            assert_eq!(table, "gone");
            assert_eq!(location, None);
        }
        e => panic!("{e:?}"),
    }
    match sql.execute("SELECT 1 IN ids AND )").unwrap_err() {
        Error::Syntax {
            location: Some(l), ..
        } => assert_eq!((l.line, l.column), (1, 21)),
        e => panic!("{e:?}"),
    }
}

#[test]
fn deeply_nested_and_circular_views_are_errors() {
    let (_d, db, sql) = open();
    sql.execute("CREATE TABLE base (x INTEGER); INSERT INTO base VALUES (7)")
        .unwrap();
    sql.execute("CREATE VIEW c0 AS SELECT x FROM base").unwrap();
    // A chain of views, each over the previous one, up to the nesting limit works ...
    let mut last_ok = 0;
    for i in 1..40 {
        match sql.execute(&format!("CREATE VIEW c{i} AS SELECT x FROM c{}", i - 1)) {
            Ok(_) => last_ok = i,
            Err(e) => {
                assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
                assert!(e.to_string().contains("nested too deeply"), "{e}");
                break;
            }
        }
    }
    assert!(last_ok >= 15, "{last_ok}");
    assert_eq!(
        sql.execute(&format!("SELECT x FROM c{last_ok}"))
            .unwrap()
            .scalar(),
        Some(&Value::Integer(7))
    );
    // Views whose SELECTs nest derived tables: the nesting of the whole expansion is
    // limited (a typed error, never a stack overflow).
    let nest = |inner: String, k: usize| (0..k).fold(inner, |q, _| format!("SELECT x FROM ({q})"));
    sql.execute("CREATE VIEW d0 AS SELECT x FROM base").unwrap();
    let mut last = 0;
    for i in 1..40 {
        let q = nest(format!("SELECT x FROM d{}", i - 1), 5);
        match sql.execute(&format!("CREATE VIEW d{i} AS {q}")) {
            Ok(_) => last = i,
            Err(e) => {
                assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
                assert!(e.to_string().contains("nested too deeply"), "{e}");
                break;
            }
        }
    }
    assert!(last >= 3, "{last}");
    assert_eq!(
        sql.execute(&format!("SELECT x FROM d{last}"))
            .unwrap()
            .scalar(),
        Some(&Value::Integer(7))
    );
    // A view's SELECT must fit an ordinary stack: longer ones are refused.
    let long = format!("CREATE VIEW lv AS SELECT 1{} AS x", " + 1".repeat(3000));
    assert_eq!(
        sql.execute(&long).unwrap_err().code(),
        ErrorCode::Unsupported
    );
    // ... and a cycle (only possible by replacing a table a view uses with a view over that
    // view) is reported, not expanded forever.
    sql.execute("CREATE TABLE t1 (x INTEGER); CREATE VIEW v1 AS SELECT x FROM t1")
        .unwrap();
    sql.execute("DROP TABLE t1").unwrap();
    assert!(sql.execute("CREATE VIEW t1 AS SELECT x FROM v1").is_err());
    let _ = db;
}

#[test]
fn sessions_span_statements() {
    let (_d, _db, sql) = open();
    let mut s = sql.session();
    s.execute("CREATE TABLE t (x INTEGER)").unwrap();
    s.execute("BEGIN; INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)")
        .unwrap();
    assert!(s.in_transaction());
    // Another session does not see uncommitted rows (snapshot isolation).
    assert_eq!(
        sql.execute("SELECT count(*) FROM t").unwrap().scalar(),
        Some(&Value::Integer(0))
    );
    assert_eq!(
        s.execute("SELECT count(*) FROM t").unwrap().scalar(),
        Some(&Value::Integer(2))
    );
    s.execute("COMMIT").unwrap();
    assert!(!s.in_transaction());
    assert_eq!(
        sql.execute("SELECT count(*) FROM t").unwrap().scalar(),
        Some(&Value::Integer(2))
    );
    // Dropping a session with an open transaction rolls it back.
    {
        let mut s2 = sql.session();
        s2.execute("BEGIN").unwrap();
        s2.execute("DELETE FROM t").unwrap();
    }
    assert_eq!(
        sql.execute("SELECT count(*) FROM t").unwrap().scalar(),
        Some(&Value::Integer(2))
    );
}

#[test]
fn hostile_input_never_panics() {
    let (_d, _db, sql) = open();
    setup(&sql);
    let fixed = [
        "",
        ";;;",
        "SELECT",
        "SELECT (((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((1",
        "SELECT 'unterminated",
        "SELECT x'zz'",
        "SELECT x'123'",
        "SELECT 99999999999999999999999999999",
        "SELECT -9223372036854775808, 9223372036854775807 + 1, abs(-9223372036854775808)",
        "SELECT sum(a) FROM (SELECT 9223372036854775807 AS a UNION ALL SELECT 1)",
        "SELECT 1 << 64, 1 >> -1, -1 % 0, 1.0 / 0",
        "SELECT substr('abc', -100, 1000), substr(x'0102', 2), round(1e308, 400)",
        "SELECT * FROM users LIMIT 'abc'",
        "SELECT * FROM users ORDER BY 0",
        "SELECT * FROM users ORDER BY 99",
        "SELECT * FROM users GROUP BY 7",
        "INSERT INTO users VALUES (1)",
        "INSERT INTO users (id, id) VALUES (1, 2)",
        "UPDATE users SET nosuch = 1",
        "SELECT (SELECT id, name FROM users)",
        "SELECT * FROM users WHERE id IN (SELECT id, name FROM users)",
        "SELECT 'a' LIKE 'a' ESCAPE 'xy'",
        "SELECT \u{0}\u{1}",
        "SELECT '\u{1F600}' || x'ff'",
        "CREATE TABLE q (a INTEGER DEFAULT (1 + ?))",
        "CREATE TABLE q (a INTEGER PRIMARY KEY, b INTEGER PRIMARY KEY)",
        "CREATE TABLE q ()",
        "ALTER TABLE users ADD COLUMN z INTEGER NOT NULL",
        "DROP INDEX sqlite_autoindex_users_1",
        "SELECT ?999999",
        "SELECT $0",
        "SELECT :name",
        "CREATE VIEW",
        "CREATE VIEW hv AS",
        "CREATE VIEW hv (a, b) AS SELECT 1",
        "CREATE VIEW hv AS SELECT * FROM users; SELECT 1 IN hv; DROP VIEW hv",
        "SELECT 1 IN",
        "WITH",
        "WITH r AS (SELECT 1) SELECT * FROM r, r AS r2 WHERE r.1 = 2",
        "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT row_number() OVER () FROM r LIMIT 5) SELECT * FROM r",
        "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT count(*) FROM r) SELECT * FROM r LIMIT 3",
        "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x FROM r LIMIT -1 OFFSET 'z') SELECT * FROM r",
        "WITH RECURSIVE r(x) AS (SELECT 1 INTERSECT SELECT x FROM r) SELECT * FROM r",
        "WITH a AS (SELECT * FROM b), b AS (SELECT * FROM a) SELECT * FROM a",
        "SELECT ntile(0) OVER (), lag(1, -9223372036854775808) OVER (), nth_value(1, 0) OVER ()",
        "SELECT sum(1) OVER (ROWS BETWEEN 9223372036854775807 PRECEDING AND 9223372036854775807 FOLLOWING)",
        "SELECT row_number() OVER (PARTITION BY row_number() OVER ())",
        "SELECT * FROM users WHERE rank() OVER () > 1",
        "SELECT 1 IN users.",
        "SELECT 1 IN \"",
        "SELECT 1 IN users IN users NOT IN users",
        "SELECT 1 IN a.b.c",
        "SELECT 'é' IN \u{1F600}",
        "DROP VIEW",
    ];
    for s in fixed {
        let _ = sql.execute(s);
    }
    // Deeply nested and very long expressions.
    let deep = format!("SELECT {}1{}", "(".repeat(5000), ")".repeat(5000));
    assert!(sql.execute(&deep).is_err());
    let long = format!("SELECT 1{}", " + 1".repeat(20_000));
    let _ = sql.execute(&long);
    let nots = format!("SELECT {}1", "NOT ".repeat(5000));
    let _ = sql.execute(&nots);

    // Random token soup and random mutations of valid statements.
    let tokens = [
        "SELECT", "FROM", "WHERE", "users", "id", "name", "(", ")", ",", "*", "+", "-", "/", "%",
        "=", "<", ">=", "AND", "OR", "NOT", "NULL", "IN", "BETWEEN", "LIKE", "CASE", "WHEN",
        "THEN", "ELSE", "END", "GROUP", "BY", "ORDER", "LIMIT", "1", "0", "-1", "'x'", "2.5",
        "JOIN", "ON", "LEFT", "UNION", "EXISTS", "count", "sum", "abs", "substr", "CAST", "AS",
        "INTEGER", "TEXT", "INSERT", "INTO", "VALUES", "UPDATE", "SET", "DELETE", "DISTINCT",
        "HAVING", "?", "||", "IS", "x'00'",
    ];
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    for _ in 0..3000 {
        let n = rng.random_range(1..20);
        let s: Vec<&str> = (0..n)
            .map(|_| tokens[rng.random_range(0..tokens.len())])
            .collect();
        let _ = sql.execute_with_params(&s.join(" "), &[Value::Integer(1)]);
    }
    let valid = [
        "SELECT id, name FROM users WHERE score > 1 ORDER BY id",
        "SELECT count(*), sum(score) FROM users GROUP BY active HAVING count(*) > 0",
        "SELECT a.id FROM users a JOIN users b ON a.id = b.id WHERE a.name IN ('ann', 'bob')",
        "UPDATE users SET score = score * 2 WHERE id = 2",
    ];
    for _ in 0..2000 {
        let base = valid[rng.random_range(0..valid.len())].as_bytes();
        let mut b = base.to_vec();
        for _ in 0..rng.random_range(1..4) {
            let i = rng.random_range(0..b.len());
            match rng.random_range(0..3) {
                0 => {
                    b.remove(i);
                }
                1 => b.insert(i, b"()',;*x0"[rng.random_range(0..8)]),
                _ => b[i] = rng.random(),
            }
            if b.is_empty() {
                break;
            }
        }
        let s = String::from_utf8_lossy(&b);
        let _ = sql.execute(&s);
    }
    // The data is intact.
    assert_eq!(
        sql.execute("SELECT count(*) FROM users").unwrap().scalar(),
        Some(&Value::Integer(3))
    );
}

/// `schema()` describes every table and index with SQL that recreates the same schema: run
/// in a fresh database, it yields the same description again.
#[test]
fn schema_sql_recreates_the_schema() {
    let (_d, _db, sql) = open();
    sql.execute(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(80) NOT NULL UNIQUE,
             \"order\" INTEGER DEFAULT -1, score REAL DEFAULT 0.5, note TEXT DEFAULT 'it''s',
             raw BLOB DEFAULT X'00FF', misc);
         CREATE TABLE pairs (a TEXT, b INTEGER, c, PRIMARY KEY (a, b), UNIQUE (b, c));
         CREATE UNIQUE INDEX users_score ON users (score, \"order\");
         CREATE INDEX \"pairs by c\" ON pairs (c);
         CREATE VIEW emails (who, addr) AS SELECT id, email FROM users WHERE email LIKE '%@%';
         CREATE VIEW a_few AS SELECT who FROM emails LIMIT 3",
    )
    .unwrap();
    let schema = sql.schema().unwrap();
    let described: Vec<(ObjectKind, &str, &str, Option<&str>)> = schema
        .iter()
        .map(|o| (o.kind, o.name.as_str(), o.table.as_str(), o.sql.as_deref()))
        .collect();
    assert_eq!(
        described,
        [
            (
                ObjectKind::Table,
                "pairs",
                "pairs",
                Some(
                    "CREATE TABLE pairs (a TEXT, b INTEGER, c, PRIMARY KEY (a, b), UNIQUE (b, c))"
                )
            ),
            (ObjectKind::Index, "sqlite_autoindex_pairs_1", "pairs", None),
            (
                ObjectKind::Index,
                "pairs by c",
                "pairs",
                Some("CREATE INDEX \"pairs by c\" ON pairs (c)")
            ),
            (
                ObjectKind::Table,
                "users",
                "users",
                Some(
                    "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(80) NOT NULL, \
                     \"order\" INTEGER DEFAULT (-1), score REAL DEFAULT 0.5, \
                     note TEXT DEFAULT 'it''s', raw BLOB DEFAULT X'00FF', misc, UNIQUE (email))"
                )
            ),
            (ObjectKind::Index, "sqlite_autoindex_users_1", "users", None),
            (
                ObjectKind::Index,
                "users_score",
                "users",
                Some("CREATE UNIQUE INDEX users_score ON users (score, \"order\")")
            ),
            // A view comes after the views it uses, whatever their names.
            (
                ObjectKind::View,
                "emails",
                "emails",
                Some(
                    "CREATE VIEW emails (who, addr) AS SELECT id, email FROM users WHERE email LIKE '%@%'"
                )
            ),
            (
                ObjectKind::View,
                "a_few",
                "a_few",
                Some("CREATE VIEW a_few AS SELECT who FROM emails LIMIT 3")
            ),
        ]
    );
    // The regenerated statements build the same schema in a fresh database.
    let (_d2, _db2, fresh) = open();
    for o in &schema {
        if let Some(s) = &o.sql {
            fresh.execute(s).unwrap();
        }
    }
    assert_eq!(fresh.schema().unwrap(), schema);
    // And the recreated table behaves the same: defaults, rowid alias, constraints.
    fresh
        .execute("INSERT INTO users (email) VALUES ('a@x')")
        .unwrap();
    let r = fresh
        .execute("SELECT id, \"order\", score, note, raw FROM users")
        .unwrap();
    assert_eq!(
        r.rows[0].values(),
        [
            Value::Integer(1),
            Value::Integer(-1),
            Value::Real(0.5),
            Value::Text("it's".into()),
            Value::Blob(vec![0, 0xFF]),
        ]
    );
    assert!(
        fresh
            .execute("INSERT INTO users (email) VALUES ('a@x')")
            .is_err()
    );
}

#[test]
fn session_scripts_keep_rewritten_syntax() {
    let (_d, _db, sql) = open();
    let mut s = sql.session();
    let r = s
        .execute("CREATE TABLE h (a INTEGER PRIMARY KEY, b); CREATE INDEX h_b ON h (b); BEGIN; INSERT INTO h VALUES (1, 1 << 3); SELECT b >> 1 FROM h INDEXED BY h_b; COMMIT; SELECT b FROM h NOT INDEXED")
        .unwrap();
    assert_eq!(r.rows[0].get(0), Some(&Value::Integer(8)));
    // Each statement of a script runs from its parse, shifts, index hints and the
    // IN-table shorthand included, inside the script's transaction.
    let r = s
        .execute("CREATE TABLE one (x); INSERT INTO one VALUES (4); BEGIN; SELECT b >> 1, b >> 1 IN one FROM h INDEXED BY h_b")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.rows[0].get(0), Some(&Value::Integer(4)));
    assert_eq!(r.rows[0].get(1), Some(&Value::Integer(1)));
    assert!(s.in_transaction());
    // An unaliased result column is named by its expression, shifts as written.
    let r = s.execute("SELECT 1 << 2, b >> 1 FROM h").unwrap();
    assert_eq!(r.columns, vec!["1 << 2", "b >> 1"]);
    let e = s
        .execute("SELECT 1;\nSELECT * FROM h INDEXED BY nope")
        .unwrap_err();
    assert!(e.to_string().contains("no such index: nope"), "{e}");
    s.execute("ROLLBACK").unwrap();
}
