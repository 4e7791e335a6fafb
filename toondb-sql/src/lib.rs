//! ToonDB's SQL engine: SQL text is parsed by `sqlparser` (SQLite dialect), bound and planned
//! here, and executed over `toondb-storage` keyspaces with SQLite's semantics.
//!
//! Principal types:
//! - [`SqlEngine`] — the engine over one [`toondb_storage::Database`]: autocommit
//!   [`SqlEngine::execute`], parameters ([`SqlEngine::execute_with_params`]), SQL inside a
//!   storage transaction next to KV writes ([`SqlEngine::execute_in`]); cheap to clone.
//! - [`Session`] — statements with `BEGIN` / `COMMIT` / `ROLLBACK`.
//! - [`SqlResult`] and [`Row`] — columns, rows by name and position, table / JSON rendering,
//!   Arrow `RecordBatch` export (through the re-exported [`arrow`]).
//! - [`Value`] — SQLite's storage classes (NULL, INTEGER, REAL, TEXT, BLOB).
//! - [`Error`] and [`ErrorCode`] — every error is typed and names what it is about.
//!
//! The on-disk layout (one `sql` keyspace, memcomparable keys) is described in
//! `docs/sql-layout.md`.
//!
//! ```
//! use toondb_sql::{SqlEngine, Value};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let db = toondb_storage::Database::open(dir.path())?;
//! let sql = SqlEngine::new(&db)?;
//! sql.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER)")?;
//! sql.execute_with_params(
//!     "INSERT INTO users (name, age) VALUES (?, ?), (?, ?)",
//!     &["alice".into(), 31.into(), "bob".into(), Value::Null],
//! )?;
//! let r = sql.execute("SELECT id, name, coalesce(age, 0) AS age FROM users ORDER BY id")?;
//! assert_eq!(r.rows[0].get_by_name("name"), Some(&Value::from("alice")));
//! assert_eq!(r.rows[1].get(2), Some(&Value::Integer(0)));
//! println!("{r}");
//!
//! // SQL next to KV writes, in one storage transaction.
//! let mut txn = db.begin_transaction()?;
//! sql.execute_in(&mut txn, "UPDATE users SET age = age + 1 WHERE name = ?", &["alice".into()])?;
//! txn.commit()?;
//! assert_eq!(sql.execute("SELECT age FROM users WHERE id = 1")?.scalar(), Some(&Value::Integer(32)));
//! # Ok(()) }
//! ```

mod bind;
mod catalog;
mod engine;
mod error;
mod eval;
mod exec;
mod keycode;
mod kv;
mod parse;
mod plan;
mod result;
mod schema;
mod value;
mod window;

/// Arrow, as re-exported by datafusion-common (the type of [`SqlResult::to_record_batch`]).
pub use datafusion_common::arrow;
pub use engine::{CacheStats, SQL_KEYSPACE, Session, SqlEngine};
pub use error::{Error, ErrorCode, Location, Result};
pub use result::{Row, SqlResult};
pub use schema::{ObjectKind, SchemaObject};
pub use value::Value;
