//! `toondb-storage`: ToonDB's transactional key-value engine, on [redb].
//!
//! One [`Database`] is one directory holding one redb file. Inside it, named
//! [`Keyspace`]s (one redb table each) hold ordered byte keys and values: the user's
//! key-value data lives in the [`KV_KEYSPACE`]; SQL rows, documents and graph edges
//! live in keyspaces of their own, so one [`Transaction`] can span all of them.
//!
//! - **KV and paths**: [`Database::put`], [`get`](Database::get),
//!   [`delete`](Database::delete); [`put_path`](Database::put_path) and friends for
//!   keys like `users/alice/email`, with [`list_children`](Database::list_children).
//! - **Scans**, ordered and on one snapshot: [`scan`](Database::scan) (half-open),
//!   [`scan_prefix`](Database::scan_prefix), [`scan_reverse`](Database::scan_reverse),
//!   [`scan_batched`](Database::scan_batched) (pairs in `Vec`s, for FFI callers).
//! - **Transactions** with snapshot isolation: [`Database::begin_transaction`],
//!   [`Database::transaction`] (commit on `Ok`), [`Database::transaction_with_retry`].
//!   Commit is first-committer-wins with a retryable [`Error::Conflict`] for the loser,
//!   and returns a monotonically increasing commit sequence number. Nested
//!   [savepoints](Transaction::savepoint) undo part of a transaction's writes.
//! - **Group commit**: concurrent commits share one redb write and one fsync.
//! - **Durability**: [`SyncMode`] `Full`, `Normal`, `Off`; [`Database::checkpoint`].
//! - **Stats**: [`Database::stats`].
//!
//! Sibling crates: `toondb-sql` and `toondb-graph` store their data here; the façade
//! `toondb` exposes this crate as `toondb::storage`.
//!
//! # Example
//!
//! ```
//! use toondb_storage::{Database, SyncMode};
//!
//! # fn main() -> toondb_storage::Result<()> {
//! let dir = tempfile::tempdir()?;
//! let db = Database::builder().sync_mode(SyncMode::Full).open(dir.path())?;
//!
//! db.put_path("users/alice/email", b"alice@example.com")?;
//! db.put_path("users/bob/email", b"bob@example.com")?;
//! assert_eq!(db.list_children("users")?, ["alice", "bob"]);
//!
//! let kv = db.kv_keyspace();
//! let mut txn = db.begin_transaction()?;
//! txn.put(&kv, b"users/carol/email", b"carol@example.com")?;
//! // The transaction sees its own write in scans; others don't until commit.
//! assert_eq!(txn.scan_prefix(&kv, b"users/")?.count(), 3);
//! assert_eq!(db.scan_prefix(b"users/")?.count(), 2);
//! let seq = txn.commit()?;
//! assert!(seq > 0);
//! # Ok(()) }
//! ```
//!
//! [redb]: https://docs.rs/redb

mod commit;
mod db;
mod error;
mod keyspace;
mod layout;
mod options;
mod path;
mod stats;
mod txn;
mod writebuf;

pub use db::Database;
pub use error::{Error, Result};
pub use keyspace::{Keyspace, MAX_KEYSPACE_NAME_LEN};
pub use layout::{FORMAT_VERSION, KV_KEYSPACE};
pub use options::{DEFAULT_CACHE_SIZE, DatabaseBuilder, NORMAL_FLUSH_INTERVAL, SyncMode};
pub use path::validate_path;
pub use stats::Stats;
pub use txn::{Savepoint, Scan, ScanBatches, ScanOrder, Transaction};

/// Longest key accepted, in bytes (64 KiB).
pub const MAX_KEY_LEN: usize = 64 * 1024;
/// Longest value accepted, in bytes (256 MiB).
pub const MAX_VALUE_LEN: usize = 256 * 1024 * 1024;

pub(crate) fn check_key(key: &[u8]) -> Result<()> {
    if key.len() > MAX_KEY_LEN {
        return Err(Error::KeyTooLarge {
            len: key.len(),
            max: MAX_KEY_LEN,
        });
    }
    Ok(())
}

pub(crate) fn check_value(value: &[u8]) -> Result<()> {
    if value.len() > MAX_VALUE_LEN {
        return Err(Error::ValueTooLarge {
            len: value.len(),
            max: MAX_VALUE_LEN,
        });
    }
    Ok(())
}
