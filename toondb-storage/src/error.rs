//! The storage error type.

use std::io;
use std::path::PathBuf;

/// A `Result` whose error is the storage [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `toondb-storage`.
///
/// The enum is `#[non_exhaustive]`: match the variants you care about and keep a
/// fallback arm. [`Error::is_retryable`] says whether running the same transaction
/// again may succeed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Another process holds the database open.
    #[error("database {path} is locked: another process has it open")]
    Locked {
        /// The database directory.
        path: PathBuf,
    },
    /// The directory does not exist and `create_if_missing` is off.
    #[error("database directory {path} does not exist (enable create_if_missing to create it)")]
    NotFound {
        /// The directory that was asked for.
        path: PathBuf,
    },
    /// The path holds something that is not a ToonDB database.
    #[error("{path} is not a ToonDB database: {reason}")]
    NotADatabase {
        /// The file or directory that was rejected.
        path: PathBuf,
        /// Why it was rejected.
        reason: String,
    },
    /// The database file is damaged beyond what automatic repair can fix.
    #[error("database file is damaged: {0}")]
    Corrupted(String),
    /// The database was written by a newer (or unknown) on-disk format.
    #[error(
        "on-disk format version {found} is not supported (this build reads version {supported})"
    )]
    UnsupportedFormat {
        /// The version found in the file.
        found: u32,
        /// The version this build understands.
        supported: u32,
    },
    /// The operating system refused to let us write (read-only directory or file).
    #[error("{path} is not writable: {source}")]
    ReadOnly {
        /// The path that could not be written.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// Any other I/O failure.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// A key is longer than [`MAX_KEY_LEN`](crate::MAX_KEY_LEN).
    #[error("key of {len} bytes exceeds the limit of {max} bytes")]
    KeyTooLarge {
        /// The key's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A value is longer than [`MAX_VALUE_LEN`](crate::MAX_VALUE_LEN).
    #[error("value of {len} bytes exceeds the limit of {max} bytes")]
    ValueTooLarge {
        /// The value's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A path for the path API is malformed.
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath {
        /// The path as given (lossy for display).
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A keyspace name is malformed or reserved.
    #[error("invalid keyspace name {name:?}: {reason}")]
    InvalidKeyspace {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An argument is out of its allowed range (for example a batch size of zero).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Another transaction committed a write to a key this transaction also wrote,
    /// after this transaction's snapshot was taken. Retry the transaction.
    #[error(
        "transaction {txn_id} conflicts with a concurrent commit on keyspace {keyspace:?}, key {key:?}: retry it"
    )]
    Conflict {
        /// The id of the transaction that lost.
        txn_id: u64,
        /// The keyspace of the first conflicting key.
        keyspace: String,
        /// The first conflicting key (lossy UTF-8 for display).
        key: String,
    },
    /// A failure inside the underlying storage engine that none of the other
    /// variants describes.
    #[error("storage engine error: {0}")]
    Engine(String),
}

impl Error {
    /// Whether running the same transaction again may succeed (a write-write conflict).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Conflict { .. })
    }

    /// Maps an error of the underlying engine (redb) to ours.
    pub(crate) fn engine(err: impl Into<redb::Error>) -> Error {
        match err.into() {
            redb::Error::Corrupted(msg) => Error::Corrupted(msg),
            redb::Error::Io(e) => Error::Io(e),
            redb::Error::ValueTooLarge(len) => Error::ValueTooLarge {
                len,
                max: crate::MAX_VALUE_LEN,
            },
            other => Error::Engine(other.to_string()),
        }
    }
}
