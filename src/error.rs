//! The façade's error type: every crate's error mapped to a stable [`ErrorCode`] with a
//! remediation hint.

use crate::storage;

/// A `Result` whose error is [`toondb::Error`](Error).
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A stable, documented code for every kind of failure. Codes never change meaning;
/// new ones may be added (the enum is `#[non_exhaustive]`). [`ErrorCode::as_str`] gives
/// the name used in logs and across the C ABI; [`ErrorCode::number`] a stable number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The database is open in another process.
    DatabaseLocked,
    /// The database directory does not exist.
    DatabaseNotFound,
    /// The path is not a ToonDB database.
    NotADatabase,
    /// The database file is damaged.
    Corrupted,
    /// The on-disk format is newer than this build.
    UnsupportedFormat,
    /// The directory or file is not writable.
    ReadOnly,
    /// An operating-system I/O failure.
    Io,
    /// A key exceeds the size limit.
    KeyTooLarge,
    /// A value exceeds the size limit.
    ValueTooLarge,
    /// A path of the path API is malformed.
    InvalidPath,
    /// A keyspace name is malformed or reserved.
    InvalidKeyspace,
    /// An argument is out of range.
    InvalidArgument,
    /// A transaction lost a write-write conflict; retry it.
    TransactionConflict,
    /// Text is not valid TOON.
    ToonSyntax,
    /// A value cannot be encoded as TOON, or decoded TOON does not fit the target type.
    ToonEncoding,
    /// A failure inside an embedded engine.
    Internal,
}

impl ErrorCode {
    /// The code's stable name, e.g. `"DATABASE_LOCKED"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::DatabaseLocked => "DATABASE_LOCKED",
            ErrorCode::DatabaseNotFound => "DATABASE_NOT_FOUND",
            ErrorCode::NotADatabase => "NOT_A_DATABASE",
            ErrorCode::Corrupted => "CORRUPTED",
            ErrorCode::UnsupportedFormat => "UNSUPPORTED_FORMAT",
            ErrorCode::ReadOnly => "READ_ONLY",
            ErrorCode::Io => "IO",
            ErrorCode::KeyTooLarge => "KEY_TOO_LARGE",
            ErrorCode::ValueTooLarge => "VALUE_TOO_LARGE",
            ErrorCode::InvalidPath => "INVALID_PATH",
            ErrorCode::InvalidKeyspace => "INVALID_KEYSPACE",
            ErrorCode::InvalidArgument => "INVALID_ARGUMENT",
            ErrorCode::TransactionConflict => "TRANSACTION_CONFLICT",
            ErrorCode::ToonSyntax => "TOON_SYNTAX",
            ErrorCode::ToonEncoding => "TOON_ENCODING",
            ErrorCode::Internal => "INTERNAL",
        }
    }

    /// The code's stable number: 1xxx storage and open, 2xxx input, 3xxx transactions,
    /// 4xxx TOON, 9xxx internal.
    pub fn number(self) -> u32 {
        match self {
            ErrorCode::DatabaseLocked => 1001,
            ErrorCode::DatabaseNotFound => 1002,
            ErrorCode::NotADatabase => 1003,
            ErrorCode::Corrupted => 1004,
            ErrorCode::UnsupportedFormat => 1005,
            ErrorCode::ReadOnly => 1006,
            ErrorCode::Io => 1007,
            ErrorCode::KeyTooLarge => 2001,
            ErrorCode::ValueTooLarge => 2002,
            ErrorCode::InvalidPath => 2003,
            ErrorCode::InvalidKeyspace => 2004,
            ErrorCode::InvalidArgument => 2005,
            ErrorCode::TransactionConflict => 3001,
            ErrorCode::ToonSyntax => 4001,
            ErrorCode::ToonEncoding => 4002,
            ErrorCode::Internal => 9001,
        }
    }

    /// What the caller can do about it.
    pub fn remediation(self) -> &'static str {
        match self {
            ErrorCode::DatabaseLocked => {
                "another process has this database open; only one process may open it directly. \
                 Run `toondb-server` on the directory and connect to it from every process \
                 that needs multi-process access"
            }
            ErrorCode::DatabaseNotFound => {
                "check the path, or open with create_if_missing(true) to create a new database"
            }
            ErrorCode::NotADatabase => {
                "the path holds something else: point ToonDB at an empty or ToonDB directory"
            }
            ErrorCode::Corrupted => {
                "the file is damaged beyond automatic repair: restore it from a backup or \
                 checkpointed copy"
            }
            ErrorCode::UnsupportedFormat => {
                "the database was written by a newer ToonDB: upgrade this program"
            }
            ErrorCode::ReadOnly => {
                "make the directory and its files writable by this user, or choose another path"
            }
            ErrorCode::Io => "check free disk space, permissions and the device, then retry",
            ErrorCode::KeyTooLarge => {
                "keys are limited to toondb::storage::MAX_KEY_LEN bytes: hash long keys or \
                 store the long part in the value"
            }
            ErrorCode::ValueTooLarge => {
                "values are limited to toondb::storage::MAX_VALUE_LEN bytes: split the value \
                 across several keys"
            }
            ErrorCode::InvalidPath => {
                "paths are non-empty '/'-separated segments without empty segments or NUL, \
                 like users/alice/email"
            }
            ErrorCode::InvalidKeyspace => {
                "keyspace names are 1-64 bytes of [A-Za-z0-9_.:-] and may not start with \"__\""
            }
            ErrorCode::InvalidArgument => "check the argument against the method's documentation",
            ErrorCode::TransactionConflict => {
                "another transaction wrote the same key first: run the transaction again \
                 (Database::transaction_with_retry does so automatically)"
            }
            ErrorCode::ToonSyntax => "fix the TOON text at the line and column the message names",
            ErrorCode::ToonEncoding => {
                "check the value's shape: TOON needs string map keys, bounded nesting, and \
                 for the compact table form one JSON object per record"
            }
            ErrorCode::Internal => {
                "an embedded engine failed unexpectedly: retry, and report it with the message \
                 if it persists"
            }
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Any ToonDB error. [`code`](Error::code) classifies it stably,
/// [`remediation`](Error::remediation) says what to do, and
/// [`is_retryable`](Error::is_retryable) whether to simply try again.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of the storage engine.
    #[error(transparent)]
    Storage(#[from] storage::Error),
    /// An error of the TOON codec.
    #[cfg(feature = "toon")]
    #[error(transparent)]
    Toon(#[from] toondb_toon::Error),
}

impl Error {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Storage(e) => storage_code(e),
            #[cfg(feature = "toon")]
            Error::Toon(e) => toon_code(e),
        }
    }

    /// What the caller can do about this error.
    pub fn remediation(&self) -> &'static str {
        self.code().remediation()
    }

    /// Whether the same operation may succeed if simply run again.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Storage(e) => e.is_retryable(),
            #[cfg(feature = "toon")]
            Error::Toon(_) => false,
        }
    }
}

#[cfg(feature = "toon")]
fn toon_code(e: &toondb_toon::Error) -> ErrorCode {
    match e {
        toondb_toon::Error::Syntax { .. } => ErrorCode::ToonSyntax,
        toondb_toon::Error::Io(_) => ErrorCode::Io,
        toondb_toon::Error::InvalidOption(_) => ErrorCode::InvalidArgument,
        _ => ErrorCode::ToonEncoding,
    }
}

fn storage_code(e: &storage::Error) -> ErrorCode {
    use storage::Error as S;
    match e {
        S::Locked { .. } => ErrorCode::DatabaseLocked,
        S::NotFound { .. } => ErrorCode::DatabaseNotFound,
        S::NotADatabase { .. } => ErrorCode::NotADatabase,
        S::Corrupted(_) => ErrorCode::Corrupted,
        S::UnsupportedFormat { .. } => ErrorCode::UnsupportedFormat,
        S::ReadOnly { .. } => ErrorCode::ReadOnly,
        S::Io(_) => ErrorCode::Io,
        S::KeyTooLarge { .. } => ErrorCode::KeyTooLarge,
        S::ValueTooLarge { .. } => ErrorCode::ValueTooLarge,
        S::InvalidPath { .. } => ErrorCode::InvalidPath,
        S::InvalidKeyspace { .. } => ErrorCode::InvalidKeyspace,
        S::InvalidArgument(_) => ErrorCode::InvalidArgument,
        S::Conflict { .. } => ErrorCode::TransactionConflict,
        _ => ErrorCode::Internal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_stable() {
        let all = [
            ErrorCode::DatabaseLocked,
            ErrorCode::DatabaseNotFound,
            ErrorCode::NotADatabase,
            ErrorCode::Corrupted,
            ErrorCode::UnsupportedFormat,
            ErrorCode::ReadOnly,
            ErrorCode::Io,
            ErrorCode::KeyTooLarge,
            ErrorCode::ValueTooLarge,
            ErrorCode::InvalidPath,
            ErrorCode::InvalidKeyspace,
            ErrorCode::InvalidArgument,
            ErrorCode::TransactionConflict,
            ErrorCode::ToonSyntax,
            ErrorCode::ToonEncoding,
            ErrorCode::Internal,
        ];
        let names: std::collections::HashSet<_> = all.iter().map(|c| c.as_str()).collect();
        let numbers: std::collections::HashSet<_> = all.iter().map(|c| c.number()).collect();
        assert_eq!(names.len(), all.len());
        assert_eq!(numbers.len(), all.len());
        assert_eq!(ErrorCode::DatabaseLocked.number(), 1001);
        assert!(
            ErrorCode::DatabaseLocked
                .remediation()
                .contains("toondb-server")
        );
        assert!(all.iter().all(|c| !c.remediation().is_empty()));
    }
}
