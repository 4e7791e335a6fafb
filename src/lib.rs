//! ToonDB: an embedded document database for AI applications and agents.
//!
//! One directory on disk holds a user's key-value data (byte keys, and paths like
//! `users/alice/email`), and, as the layers land, SQL tables, tenant namespaces with
//! collections of documents (vector + text + metadata) and graph overlays. Everything
//! sits on one transactional storage engine, so a single transaction can span them.
//!
//! # Quick start
//!
//! ```
//! use toondb::{Database, SyncMode};
//!
//! # fn main() -> toondb::Result<()> {
//! let dir = tempfile::tempdir()?;
//! let db = Database::builder().sync_mode(SyncMode::Full).open(dir.path())?;
//!
//! // Key-value and paths.
//! db.put(b"config/theme", b"dark")?;
//! db.put_path("users/alice/email", b"alice@example.com")?;
//! db.put_path("users/bob/email", b"bob@example.com")?;
//! assert_eq!(db.list_children("users")?, ["alice", "bob"]);
//!
//! // Ordered scans on one snapshot.
//! let emails: Vec<_> = db
//!     .scan_prefix(b"users/")?
//!     .map(|r| r.map(|(k, _)| String::from_utf8_lossy(&k).into_owned()))
//!     .collect::<Result<_, _>>()?;
//! assert_eq!(emails, ["users/alice/email", "users/bob/email"]);
//!
//! // Snapshot-isolation transactions: commit on Ok, abort on Err, retry on conflict.
//! let (visits, _attempts) = db.transaction_with_retry(10, |txn| {
//!     let n = txn.get(b"visits")?.map_or(0, |v| u64::from_be_bytes(v.try_into().unwrap_or([0; 8])));
//!     txn.put(b"visits", &(n + 1).to_be_bytes())?;
//!     Ok(n + 1)
//! })?;
//! assert_eq!(visits, 1);
//!
//! // Errors carry a stable code and a remediation hint.
//! let err = db.put_path("bad//path", b"x").unwrap_err();
//! assert_eq!(err.code(), toondb::ErrorCode::InvalidPath);
//! println!("{err}: {}", err.remediation());
//! # Ok(()) }
//! ```
//!
//! # Architecture
//!
//! The root crate is a façade that composes layered crates, each usable alone and
//! re-exported here as a module:
//!
//! - [`storage`] (`toondb-storage`): the transactional KV engine on redb: keyspaces,
//!   snapshot isolation, group commit, scans, durability modes.
//! - `vector` (`toondb-vector`, feature `vector`): the HNSW engine.
//! - `text` (`toondb-text`, feature `text`): the BM25 engine.
//! - `toon` (`toondb-toon`, feature `toon`): the TOON codec.
//! - `sql` (`toondb-sql`, feature `sql`): the SQL engine, on storage keyspaces.
//!
//! See `ARCHITECTURE.md` in the repository for the crate map and the on-disk layout.

#![deny(missing_docs)]

#[cfg(feature = "collections")]
mod collection;
mod database;
mod error;
#[cfg(feature = "collections")]
mod namespace;
mod query;
#[cfg(feature = "sql")]
mod sql_api;

#[cfg(feature = "collections")]
pub use collection::{
    Aggregation, Collection, CollectionConfig, Document, Filter, MAX_DOC_ID_LEN, MAX_NAME_LEN,
    Range, SearchResult, StoredDocument,
};
pub use database::{Database, DatabaseBuilder, Transaction};
pub use error::{Error, ErrorCode, Result};
#[cfg(feature = "collections")]
pub use namespace::{Namespace, NamespaceInfo};
pub use query::{Query, QueryRow};
pub use toondb_storage::{Scan, ScanBatches, ScanOrder, Stats, SyncMode};

#[cfg(feature = "sql")]
pub use toondb_sql as sql;
pub use toondb_storage as storage;
#[cfg(feature = "text")]
pub use toondb_text as text;
#[cfg(feature = "toon")]
pub use toondb_toon as toon;
#[cfg(feature = "vector")]
pub use toondb_vector as vector;
