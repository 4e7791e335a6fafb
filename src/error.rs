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
    /// A namespace, collection or vector name is malformed.
    InvalidName,
    /// A document is malformed (bad id, NaN, zero vector with cosine, bad metadata).
    InvalidDocument,
    /// A document id already exists (or repeats within a batch).
    DuplicateDocument,
    /// A vector has the wrong number of components.
    DimensionMismatch,
    /// A filter names a field that no document has.
    UnknownFilterField,
    /// A query is empty.
    EmptyQuery,
    /// The namespace does not exist.
    NamespaceNotFound,
    /// The namespace already exists.
    NamespaceExists,
    /// The collection does not exist.
    CollectionNotFound,
    /// The collection exists with a different configuration.
    CollectionConfigMismatch,
    /// An index file (`.hnsw`, text index) is damaged, truncated or foreign.
    IndexFileInvalid,
    /// SQL text does not parse.
    SqlSyntax,
    /// A table, index or column named in SQL does not exist.
    SqlNotFound,
    /// A column reference is ambiguous.
    SqlAmbiguousColumn,
    /// A table, index or column already exists.
    SqlAlreadyExists,
    /// A SQL value or expression has the wrong type.
    SqlTypeMismatch,
    /// A NOT NULL, UNIQUE or PRIMARY KEY constraint would be violated; nothing changed.
    SqlConstraintViolation,
    /// Valid SQL that ToonDB does not implement.
    SqlUnsupported,
    /// Transaction-control misuse in SQL (COMMIT without BEGIN, …).
    SqlTransaction,
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
            ErrorCode::InvalidName => "INVALID_NAME",
            ErrorCode::InvalidDocument => "INVALID_DOCUMENT",
            ErrorCode::DuplicateDocument => "DUPLICATE_DOCUMENT",
            ErrorCode::DimensionMismatch => "DIMENSION_MISMATCH",
            ErrorCode::UnknownFilterField => "UNKNOWN_FILTER_FIELD",
            ErrorCode::EmptyQuery => "EMPTY_QUERY",
            ErrorCode::NamespaceNotFound => "NAMESPACE_NOT_FOUND",
            ErrorCode::NamespaceExists => "NAMESPACE_EXISTS",
            ErrorCode::CollectionNotFound => "COLLECTION_NOT_FOUND",
            ErrorCode::CollectionConfigMismatch => "COLLECTION_CONFIG_MISMATCH",
            ErrorCode::IndexFileInvalid => "INDEX_FILE_INVALID",
            ErrorCode::SqlSyntax => "SQL_SYNTAX",
            ErrorCode::SqlNotFound => "SQL_NOT_FOUND",
            ErrorCode::SqlAmbiguousColumn => "SQL_AMBIGUOUS_COLUMN",
            ErrorCode::SqlAlreadyExists => "SQL_ALREADY_EXISTS",
            ErrorCode::SqlTypeMismatch => "SQL_TYPE_MISMATCH",
            ErrorCode::SqlConstraintViolation => "SQL_CONSTRAINT_VIOLATION",
            ErrorCode::SqlUnsupported => "SQL_UNSUPPORTED",
            ErrorCode::SqlTransaction => "SQL_TRANSACTION",
            ErrorCode::ToonSyntax => "TOON_SYNTAX",
            ErrorCode::ToonEncoding => "TOON_ENCODING",
            ErrorCode::Internal => "INTERNAL",
        }
    }

    /// The code's stable number: 1xxx storage and open, 2xxx input, 3xxx transactions,
    /// 4xxx TOON, 5xxx namespaces and collections, 6xxx index files, 7xxx SQL,
    /// 9xxx internal.
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
            ErrorCode::InvalidName => 2006,
            ErrorCode::InvalidDocument => 2007,
            ErrorCode::DuplicateDocument => 2008,
            ErrorCode::DimensionMismatch => 2009,
            ErrorCode::UnknownFilterField => 2010,
            ErrorCode::EmptyQuery => 2011,
            ErrorCode::NamespaceNotFound => 5001,
            ErrorCode::NamespaceExists => 5002,
            ErrorCode::CollectionNotFound => 5003,
            ErrorCode::CollectionConfigMismatch => 5004,
            ErrorCode::IndexFileInvalid => 6001,
            ErrorCode::SqlSyntax => 7001,
            ErrorCode::SqlNotFound => 7002,
            ErrorCode::SqlAmbiguousColumn => 7003,
            ErrorCode::SqlAlreadyExists => 7004,
            ErrorCode::SqlTypeMismatch => 7005,
            ErrorCode::SqlConstraintViolation => 7006,
            ErrorCode::SqlUnsupported => 7007,
            ErrorCode::SqlTransaction => 7008,
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
            ErrorCode::InvalidName => {
                "names are 1-48 bytes of [A-Za-z0-9_-] and may not start with '_'"
            }
            ErrorCode::InvalidDocument => {
                "give every document a 1-1024 byte id, finite vector components (not all zero \
                 with cosine) and JSON-object metadata"
            }
            ErrorCode::DuplicateDocument => {
                "use upsert to replace an existing document, and give each document of a batch \
                 its own id"
            }
            ErrorCode::DimensionMismatch => {
                "vectors must have exactly the collection's dimension: check the embedding model"
            }
            ErrorCode::UnknownFilterField => {
                "no document has this metadata field: check its spelling and dotted path"
            }
            ErrorCode::EmptyQuery => "give the search some query text or vectors",
            ErrorCode::NamespaceNotFound => {
                "create the namespace first with Database::create_namespace, or check its name"
            }
            ErrorCode::NamespaceExists => {
                "open it with Database::namespace, or choose another name"
            }
            ErrorCode::CollectionNotFound => {
                "create the collection first with Namespace::create_collection, or check its name"
            }
            ErrorCode::CollectionConfigMismatch => {
                "a collection's configuration is immutable: open it as it is, or drop it and \
                 create it again"
            }
            ErrorCode::IndexFileInvalid => {
                "the file is damaged, truncated or not an index of this kind: rebuild it from \
                 the source data"
            }
            ErrorCode::SqlSyntax => "fix the SQL at the line and column the message names",
            ErrorCode::SqlNotFound => {
                "check the table, index or column name (SELECT name FROM the catalog with \
                 `.tables` in the shell)"
            }
            ErrorCode::SqlAmbiguousColumn => "qualify the column with its table name or alias",
            ErrorCode::SqlAlreadyExists => "use IF NOT EXISTS, or drop the existing object first",
            ErrorCode::SqlTypeMismatch => "CAST the value to the column's type",
            ErrorCode::SqlConstraintViolation => {
                "the statement was rolled back as a whole: supply the missing value or a unique key"
            }
            ErrorCode::SqlUnsupported => {
                "rewrite the statement with the supported dialect (see toondb-sql's docs)"
            }
            ErrorCode::SqlTransaction => "pair every BEGIN with one COMMIT or ROLLBACK",
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
    /// An error of the vector engine.
    #[cfg(feature = "vector")]
    #[error(transparent)]
    Vector(#[from] crate::vector::VectorError),
    /// An error of the text engine.
    #[cfg(feature = "text")]
    #[error(transparent)]
    Text(#[from] crate::text::Error),
    /// A name is malformed.
    #[error("invalid {kind} name {name:?}")]
    InvalidName {
        /// What was being named (`namespace`, `collection`, `vector`).
        kind: &'static str,
        /// The name given.
        name: String,
    },
    /// A document is malformed.
    #[error("invalid document {id:?}: {reason}")]
    InvalidDocument {
        /// The document's id (shortened).
        id: String,
        /// What is wrong.
        reason: String,
    },
    /// A document id is taken.
    #[error("duplicate document id {id:?}: {reason}")]
    DuplicateDocument {
        /// The id.
        id: String,
        /// Where the duplicate is.
        reason: &'static str,
    },
    /// A vector has the wrong dimension.
    #[error("vector has {got} components, the collection expects {expected}")]
    DimensionMismatch {
        /// The collection's dimension.
        expected: usize,
        /// The vector's length.
        got: usize,
    },
    /// A filter names a field no document has.
    #[error("no document has the metadata field {field:?} used in the filter")]
    UnknownFilterField {
        /// The field.
        field: String,
    },
    /// A query is empty.
    #[error("the query is empty")]
    EmptyQuery,
    /// No such namespace.
    #[error("namespace {name:?} does not exist")]
    NamespaceNotFound {
        /// Its name.
        name: String,
    },
    /// The namespace exists.
    #[error("namespace {name:?} already exists")]
    NamespaceExists {
        /// Its name.
        name: String,
    },
    /// No such collection.
    #[error("collection {collection:?} does not exist in namespace {namespace:?}")]
    CollectionNotFound {
        /// The namespace.
        namespace: String,
        /// The collection.
        collection: String,
    },
    /// The collection exists with another configuration.
    #[error("collection {collection:?} exists with a different configuration: {existing}")]
    CollectionConfigMismatch {
        /// The collection.
        collection: String,
        /// Its stored configuration, as JSON.
        existing: String,
    },
    /// An argument is out of range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Something that should not happen: damaged internal records.
    #[error("internal error: {0}")]
    Internal(String),
    /// An error of the SQL engine.
    #[cfg(feature = "sql")]
    #[error(transparent)]
    Sql(#[from] crate::sql::Error),
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
            #[cfg(feature = "vector")]
            Error::Vector(e) => vector_code(e),
            #[cfg(feature = "text")]
            Error::Text(e) => text_code(e),
            #[cfg(feature = "sql")]
            Error::Sql(e) => sql_code(e),
            Error::InvalidName { .. } => ErrorCode::InvalidName,
            Error::InvalidDocument { .. } => ErrorCode::InvalidDocument,
            Error::DuplicateDocument { .. } => ErrorCode::DuplicateDocument,
            Error::DimensionMismatch { .. } => ErrorCode::DimensionMismatch,
            Error::UnknownFilterField { .. } => ErrorCode::UnknownFilterField,
            Error::EmptyQuery => ErrorCode::EmptyQuery,
            Error::NamespaceNotFound { .. } => ErrorCode::NamespaceNotFound,
            Error::NamespaceExists { .. } => ErrorCode::NamespaceExists,
            Error::CollectionNotFound { .. } => ErrorCode::CollectionNotFound,
            Error::CollectionConfigMismatch { .. } => ErrorCode::CollectionConfigMismatch,
            Error::InvalidArgument(_) => ErrorCode::InvalidArgument,
            Error::Internal(_) => ErrorCode::Internal,
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
            #[cfg(feature = "sql")]
            Error::Sql(e) => e.is_retryable(),
            _ => false,
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

#[cfg(feature = "vector")]
fn vector_code(e: &crate::vector::VectorError) -> ErrorCode {
    use crate::vector::VectorError as V;
    match e {
        V::DimensionMismatch { .. } => ErrorCode::DimensionMismatch,
        V::NonFiniteComponent { .. } | V::ZeroVector | V::VectorTooLarge { .. } => {
            ErrorCode::InvalidDocument
        }
        V::ZeroK | V::InvalidParameter { .. } | V::InvalidInput(_) | V::CapacityExceeded { .. } => {
            ErrorCode::InvalidArgument
        }
        V::NotAnIndexFile { .. } => ErrorCode::IndexFileInvalid,
        _ => ErrorCode::Internal,
    }
}

#[cfg(feature = "text")]
fn text_code(e: &crate::text::Error) -> ErrorCode {
    if e.is_corruption() {
        ErrorCode::IndexFileInvalid
    } else {
        ErrorCode::Internal
    }
}

#[cfg(feature = "sql")]
fn sql_code(e: &crate::sql::Error) -> ErrorCode {
    use crate::sql::ErrorCode as C;
    match (e, e.code()) {
        (crate::sql::Error::Storage(inner), _) => storage_code(inner),
        (_, C::Syntax) => ErrorCode::SqlSyntax,
        (_, C::NotFound) => ErrorCode::SqlNotFound,
        (_, C::AmbiguousColumn) => ErrorCode::SqlAmbiguousColumn,
        (_, C::AlreadyExists) => ErrorCode::SqlAlreadyExists,
        (_, C::TypeMismatch) => ErrorCode::SqlTypeMismatch,
        (_, C::ConstraintViolation) => ErrorCode::SqlConstraintViolation,
        (_, C::Unsupported) => ErrorCode::SqlUnsupported,
        (_, C::InvalidArgument) => ErrorCode::InvalidArgument,
        (_, C::Transaction) => ErrorCode::SqlTransaction,
        (_, C::Conflict) => ErrorCode::TransactionConflict,
        (_, C::Corrupt) => ErrorCode::Corrupted,
        _ => ErrorCode::Internal,
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
            ErrorCode::InvalidName,
            ErrorCode::InvalidDocument,
            ErrorCode::DuplicateDocument,
            ErrorCode::DimensionMismatch,
            ErrorCode::UnknownFilterField,
            ErrorCode::EmptyQuery,
            ErrorCode::NamespaceNotFound,
            ErrorCode::NamespaceExists,
            ErrorCode::CollectionNotFound,
            ErrorCode::CollectionConfigMismatch,
            ErrorCode::IndexFileInvalid,
            ErrorCode::SqlSyntax,
            ErrorCode::SqlNotFound,
            ErrorCode::SqlAmbiguousColumn,
            ErrorCode::SqlAlreadyExists,
            ErrorCode::SqlTypeMismatch,
            ErrorCode::SqlConstraintViolation,
            ErrorCode::SqlUnsupported,
            ErrorCode::SqlTransaction,
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
