//! Runs the engine's own sqllogictest files under `tests/slt/`.
//!
//! Set `TOONDB_SLT_REWRITE=1` to rewrite the expected output of every record from what the
//! engine returns now (review the diff before committing).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use sqllogictest::{DBOutput, DefaultColumnType, Runner};
use toondb_sql::{Session, SqlEngine, Value};

/// Drives a future that never really waits (the engine is synchronous).
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}

struct SltDb {
    session: Session,
    _dir: tempfile::TempDir,
}

impl SltDb {
    fn new() -> Result<SltDb, toondb_sql::Error> {
        let dir = tempfile::tempdir().map_err(toondb_storage::Error::from)?;
        let db = toondb_storage::Database::open(dir.path())?;
        let engine = SqlEngine::new(&db)?;
        Ok(SltDb {
            session: engine.session(),
            _dir: dir,
        })
    }
}

fn render(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Text(s) if s.is_empty() => "(empty)".into(),
        other => other.to_string(),
    }
}

impl sqllogictest::DB for SltDb {
    type Error = toondb_sql::Error;
    type ColumnType = DefaultColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, toondb_sql::Error> {
        let r = self.session.execute(sql)?;
        if r.columns.is_empty() {
            return Ok(DBOutput::StatementComplete(r.rows_affected));
        }
        Ok(DBOutput::Rows {
            types: vec![DefaultColumnType::Any; r.columns.len()],
            rows: r
                .iter()
                .map(|row| row.values().iter().map(render).collect())
                .collect(),
        })
    }

    fn engine_name(&self) -> &str {
        "toondb"
    }
}

fn slt_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/slt exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "slt"))
        .collect();
    files.sort();
    files
}

#[test]
fn slt_files_pass() {
    let rewrite = std::env::var_os("TOONDB_SLT_REWRITE").is_some_and(|v| v != "0");
    let files = slt_files();
    assert!(!files.is_empty(), "no .slt files found");
    let mut failures = Vec::new();
    for path in files {
        let mut runner = Runner::new(|| async { SltDb::new() });
        if rewrite {
            block_on(runner.update_test_file(
                &path,
                " ",
                sqllogictest::default_validator,
                sqllogictest::default_normalizer,
                sqllogictest::default_column_validator,
            ))
            .unwrap_or_else(|e| panic!("rewriting {}: {e}", path.display()));
            println!("rewrote {}", path.display());
        } else {
            match runner.run_file(&path) {
                Ok(()) => println!("ok   {}", path.display()),
                Err(e) => {
                    println!("FAIL {}:\n{e}", path.display());
                    failures.push(format!("{}: {e}", path.display()));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} slt file(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
