//! End-to-end tests of `toondb sql` through the real binary: batch statements with each
//! output format, `-f` files, transactions across statements, the first error stopping
//! the run, usage errors, persistence across invocations, and the line-by-line path a
//! non-terminal standard input takes.

use std::path::Path;
use std::process::Output;

mod common;
use common::{stderr, stdout, toondb};

fn sql(db: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["sql", "--db", db.to_str().expect("utf-8 path")];
    args.extend_from_slice(extra);
    toondb(&args, Some(""))
}

#[track_caller]
fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

const SETUP: &str = "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, score REAL); \
     INSERT INTO people (name, score) VALUES ('Alice', 9.5), ('Bob, \"Jr.\"', NULL), (NULL, 7);";
const QUERY: &str = "SELECT id, name, score FROM people ORDER BY id";

#[test]
fn batch_renders_each_format_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    // DDL prints nothing; the INSERT reports its count.
    assert_eq!(ok(&sql(&db, &["-c", SETUP])), "(3 rows affected)\n");

    let table = ok(&sql(&db, &["-c", QUERY]));
    assert_eq!(
        table,
        "id | name       | score\n\
         ---+------------+------\n \
          1 | Alice      |   9.5\n \
          2 | Bob, \"Jr.\" | NULL\n \
          3 | NULL       |   7.0\n\
         (3 rows)\n"
    );

    let json = ok(&sql(&db, &["-c", QUERY, "--format", "json"]));
    let parsed: serde_json::Value = serde_json::from_str(&json).expect("one JSON document");
    assert_eq!(
        parsed,
        serde_json::json!([
            {"id": 1, "name": "Alice", "score": 9.5},
            {"id": 2, "name": "Bob, \"Jr.\"", "score": null},
            {"id": 3, "name": null, "score": 7.0}
        ])
    );
    // Keys keep the column order.
    let first = json.find("\"id\"").unwrap();
    assert!(
        first < json.find("\"name\"").unwrap()
            && json.find("\"name\"").unwrap() < json.find("\"score\"").unwrap()
    );

    let csv = ok(&sql(&db, &["-c", QUERY, "--format", "csv"]));
    assert_eq!(
        csv,
        "id,name,score\n1,Alice,9.5\n2,\"Bob, \"\"Jr.\"\"\",\n3,,7.0\n"
    );

    let toon = ok(&sql(&db, &["-c", QUERY, "--format", "toon"]));
    assert_eq!(
        toon,
        "rows[3]{id,name,score}:\n  1,Alice,9.5\n  2,\"Bob, \\\"Jr.\\\"\",null\n  3,null,7\n"
    );
    // The TOON output decodes back to the same rows.
    let decoded = toondb::toon::decode_value(toon.trim_end(), &toondb::toon::DecodeOptions::new())
        .expect("valid TOON");
    assert_eq!(
        decoded["rows"],
        serde_json::json!([
            {"id": 1, "name": "Alice", "score": 9.5},
            {"id": 2, "name": "Bob, \"Jr.\"", "score": null},
            {"id": 3, "name": null, "score": 7}
        ])
    );

    // DML counts per format; CSV has nothing to say about them.
    let upd = "UPDATE people SET score = score + 1 WHERE id = 1";
    assert_eq!(ok(&sql(&db, &["-c", upd])), "(1 row affected)\n");
    assert_eq!(
        ok(&sql(&db, &["-c", upd, "--format", "json"])),
        "{\"rows_affected\":1}\n"
    );
    assert_eq!(
        ok(&sql(&db, &["-c", upd, "--format", "toon"])),
        "rows_affected: 1\n"
    );
    assert_eq!(ok(&sql(&db, &["-c", upd, "--format", "csv"])), "");
}

#[test]
fn empty_results_and_several_result_sets() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    ok(&sql(&db, &["-c", "CREATE TABLE t (a INTEGER, a2 TEXT)"]));
    let q = "SELECT a, a2 FROM t; SELECT 1 AS x, 'y' AS x";
    assert_eq!(
        ok(&sql(&db, &["-c", q])),
        "a | a2\n--+---\n(0 rows)\nx | x\n--+--\n1 | y\n(1 row)\n"
    );
    assert_eq!(
        ok(&sql(&db, &["-c", q, "--format", "csv"])),
        "a,a2\n\nx,x\n1,y\n"
    );
    // Duplicate column names stay distinct as object keys.
    assert_eq!(
        ok(&sql(&db, &["-c", q, "--format", "json"])),
        "[]\n[\n  {\n    \"x\": 1,\n    \"x_2\": \"y\"\n  }\n]\n"
    );
    assert_eq!(
        ok(&sql(&db, &["-c", q, "--format", "toon"])),
        "rows: []\nrows[1]{x,x_2}:\n  1,y\n"
    );
}

#[test]
fn file_with_transactions_comments_and_literals() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let file = dir.path().join("script.sql");
    std::fs::write(
        &file,
        "-- a script; with a comment\n\
         CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\n\
         BEGIN;\n\
         INSERT INTO notes (body) VALUES ('rolled; back');\n\
         ROLLBACK;\n\
         BEGIN;\n\
         INSERT INTO notes (body) VALUES ('kept; with ''quotes''');\n\
         /* a block comment; spanning\n lines */\n\
         INSERT INTO notes (body)\n  VALUES ('multi\nline');\n\
         COMMIT;\n\
         SELECT id, body FROM notes ORDER BY id;\n",
    )
    .unwrap();
    let out = sql(&db, &["-f", file.to_str().unwrap(), "--format", "json"]);
    let text = ok(&out);
    let docs: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&text)
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("JSON documents");
    assert_eq!(
        docs,
        [
            serde_json::json!({"rows_affected": 1}),
            serde_json::json!({"rows_affected": 1}),
            serde_json::json!({"rows_affected": 1}),
            serde_json::json!([
                {"id": 1, "body": "kept; with 'quotes'"},
                {"id": 2, "body": "multi\nline"}
            ]),
        ]
    );
    assert_eq!(stderr(&out), "");
}

#[test]
fn first_error_stops_the_run_with_a_useful_message() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let out = sql(
        &db,
        &[
            "-c",
            "CREATE TABLE t (a INTEGER);\nINSERT INTO t VALUES (1);\n\nSELECT * FROM nope; INSERT INTO t VALUES (2)",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&out), "(1 row affected)\n");
    let err = stderr(&out);
    assert!(err.contains("statement 3 (line 4)"), "{err}");
    assert!(err.contains("no such table: nope"), "{err}");
    assert!(err.contains("[SQL_NOT_FOUND]"), "{err}");
    assert!(err.contains("hint: "), "{err}");
    // The statement after the error never ran.
    assert_eq!(
        ok(&sql(
            &db,
            &["-c", "SELECT count(*) AS n FROM t", "--format", "csv"]
        )),
        "n\n1\n"
    );

    let out = sql(&db, &["-c", "SELECT 1; SELEC 2; SELECT 3"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "1\n-\n1\n(1 row)\n");
    let err = stderr(&out);
    assert!(
        err.contains("statement 2") && err.contains("[SQL_SYNTAX]"),
        "{err}"
    );

    // A constraint violation inside a transaction: nothing of it is committed.
    let out = sql(
        &db,
        &[
            "-c",
            "BEGIN; INSERT INTO t VALUES (5); INSERT INTO t (nope) VALUES (1); COMMIT",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no such column"), "{}", stderr(&out));
    assert!(stderr(&out).contains("rolled back"), "{}", stderr(&out));
    assert_eq!(
        ok(&sql(
            &db,
            &["-c", "SELECT count(*) AS n FROM t", "--format", "csv"]
        )),
        "n\n1\n"
    );
}

#[test]
fn open_transaction_at_the_end_is_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let out = sql(
        &db,
        &["-c", "CREATE TABLE t (a); BEGIN; INSERT INTO t VALUES (1)"],
    );
    assert_eq!(ok(&out), "(1 row affected)\n");
    assert!(stderr(&out).contains("rolled back"), "{}", stderr(&out));
    assert_eq!(
        ok(&sql(
            &db,
            &["-c", "SELECT count(*) AS n FROM t", "--format", "csv"]
        )),
        "n\n0\n"
    );
}

#[test]
fn data_persists_across_invocations() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    ok(&sql(
        &db,
        &["-c", "CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER)"],
    ));
    for i in 0..3 {
        ok(&sql(
            &db,
            &["-c", &format!("INSERT INTO kv VALUES ('k{i}', {i})")],
        ));
    }
    assert_eq!(
        ok(&sql(
            &db,
            &["-c", "SELECT k, v FROM kv ORDER BY k", "--format", "csv"]
        )),
        "k,v\nk0,0\nk1,1\nk2,2\n"
    );
}

#[test]
fn usage_errors_exit_with_2() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let d = db.to_str().unwrap();
    for args in [
        vec!["sql", "-c", "SELECT 1"],
        vec!["sql", "--db", d, "-c", "SELECT 1", "-f", "x.sql"],
        vec!["sql", "--db", d, "-c", "SELECT 1", "--format", "xml"],
        vec!["sql", "--db", d, "--bogus"],
    ] {
        let out = toondb(&args, Some(""));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).is_empty());
    }
    // A missing script file or an unusable database is a run-time error (1).
    let out = sql(
        &db,
        &["-f", dir.path().join("missing.sql").to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("missing.sql"), "{}", stderr(&out));
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "not a database").unwrap();
    let out = sql(&file, &["-c", "SELECT 1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot open database"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn stdin_script_runs_statements_spread_across_lines() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let d = db.to_str().unwrap();
    let script = "CREATE TABLE t (\n  id INTEGER PRIMARY KEY,\n  name TEXT\n);\n\
                  INSERT INTO t (name) VALUES ('a;\nb'),\n ('c'); SELECT\n count(*) AS n\n FROM t;\n\
                  .format csv\n\
                  -- comment line\n\
                  SELECT id, name\nFROM t\nORDER BY id\n";
    let out = toondb(&["sql", "--db", d], Some(script));
    assert_eq!(
        ok(&out),
        "(2 rows affected)\nn\n-\n2\n(1 row)\nid,name\n1,\"a;\nb\"\n2,c\n"
    );

    // .help and .quit; nothing after .quit runs.
    let out = toondb(&["sql", "--db", d], Some(".help\n.quit\nDROP TABLE t;\n"));
    assert!(ok(&out).contains(".quit / .exit"));
    let out = toondb(&["sql", "--db", d, "-c", "SELECT count(*) FROM t"], None);
    assert!(ok(&out).contains("2"));

    // An error stops the script and names its line.
    let out = toondb(
        &["sql", "--db", d],
        Some("SELECT 1 AS one;\n\nSELECT *\n  FROM missing;\nSELECT 2;\n"),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "one\n---\n  1\n(1 row)\n");
    let err = stderr(&out);
    assert!(
        err.contains("statement 2 (line 3)") && err.contains("missing"),
        "{err}"
    );

    // Unknown dot-commands are errors too.
    let out = toondb(&["sql", "--db", d], Some(".frobnicate\n"));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(".frobnicate"), "{}", stderr(&out));
}

#[test]
fn tables_and_schema_commands_show_the_sessions_schema() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let d = db.to_str().unwrap();
    let script = "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE);\n\
                  CREATE INDEX users_email ON users (email);\n\
                  BEGIN;\n\
                  CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT DEFAULT '');\n\
                  .tables\n\
                  .schema users\n\
                  ROLLBACK;\n\
                  .tables\n";
    let out = toondb(&["sql", "--db", d], Some(script));
    // Inside the transaction, its own CREATE TABLE shows; after ROLLBACK it is gone.
    assert_eq!(
        ok(&out),
        "notes\nusers\n\
         CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, UNIQUE (email));\n\
         CREATE INDEX users_email ON users (email);\n\
         users\n"
    );
    let out = toondb(&["sql", "--db", d], Some(".schema\n"));
    assert_eq!(
        ok(&out),
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, UNIQUE (email));\n\
         CREATE INDEX users_email ON users (email);\n"
    );
    let out = toondb(&["sql", "--db", d], Some(".schema nope\n"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no such table: nope"),
        "{}",
        stderr(&out)
    );
}
