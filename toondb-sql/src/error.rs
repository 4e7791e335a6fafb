//! The crate's error type and stable error codes.

use std::fmt;

/// A position in the SQL text (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Line, starting at 1.
    pub line: u64,
    /// Column, starting at 1.
    pub column: u64,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

pub(crate) fn at(loc: &Option<Location>) -> String {
    match loc {
        Some(l) => format!(" at {l}"),
        None => String::new(),
    }
}

/// Stable, coarse classification of every [`Error`]; what callers match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The SQL text does not parse.
    Syntax,
    /// A table, view, index or column named in the statement does not exist.
    NotFound,
    /// A column reference matches columns of several tables.
    AmbiguousColumn,
    /// A table, view, index or column of that name already exists.
    AlreadyExists,
    /// A value or expression has the wrong type for its place.
    TypeMismatch,
    /// NOT NULL, UNIQUE or PRIMARY KEY would be violated; nothing was changed.
    ConstraintViolation,
    /// Valid SQL that this engine does not implement.
    Unsupported,
    /// Wrong use of the API or the statement (parameter count, argument count, ...).
    InvalidArgument,
    /// Transaction control misuse (COMMIT without BEGIN, ...).
    Transaction,
    /// A write-write conflict with a concurrent transaction; retrying may succeed.
    Conflict,
    /// The storage layer failed.
    Storage,
    /// Stored SQL data could not be decoded.
    Corrupt,
}

/// Every error of the SQL engine. Each names the table, column and position involved where
/// there is one, and maps to an [`ErrorCode`] through [`Error::code`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The SQL text does not parse.
    #[error("syntax error{}: {message}", at(location))]
    Syntax {
        /// The parser's message.
        message: String,
        /// Where, when known.
        location: Option<Location>,
    },
    /// No table of that name.
    #[error("no such table: {table}{}", at(location))]
    UnknownTable {
        /// The table name as written.
        table: String,
        /// Where, when known.
        location: Option<Location>,
    },
    /// No view of that name (`DROP VIEW` of a name that is neither a view nor a table).
    #[error("no such view: {view}")]
    UnknownView {
        /// The view name as written.
        view: String,
    },
    /// No index of that name.
    #[error("no such index: {index}")]
    UnknownIndex {
        /// The index name as written.
        index: String,
    },
    /// No column of that name in scope.
    #[error("no such column: {}{column}{}", table.as_ref().map(|t| format!("{t}.")).unwrap_or_default(), at(location))]
    UnknownColumn {
        /// The column name as written.
        column: String,
        /// The table qualifier or the table of the statement, if any.
        table: Option<String>,
        /// Where, when known.
        location: Option<Location>,
    },
    /// A column reference that matches columns of several tables.
    #[error("ambiguous column name: {column} (in {}){}", tables.join(", "), at(location))]
    AmbiguousColumn {
        /// The column name as written.
        column: String,
        /// The tables that have it.
        tables: Vec<String>,
        /// Where, when known.
        location: Option<Location>,
    },
    /// A table, view, index or column of that name already exists.
    #[error("{kind} {name} already exists")]
    AlreadyExists {
        /// "table", "view", "index" or "column".
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// A value or expression has the wrong type for its place.
    #[error("type mismatch{}: {message}", table.as_ref().map(|t| format!(" in {t}{}", column.as_ref().map(|c| format!(".{c}")).unwrap_or_default())).unwrap_or_default())]
    TypeMismatch {
        /// What was wrong.
        message: String,
        /// The table involved, if any.
        table: Option<String>,
        /// The column involved, if any.
        column: Option<String>,
    },
    /// A NOT NULL column would receive NULL.
    #[error("NOT NULL constraint failed: {table}.{column}")]
    NotNullViolation {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// A PRIMARY KEY or UNIQUE constraint would be violated.
    #[error("{} constraint failed: {}", if *primary_key { "PRIMARY KEY" } else { "UNIQUE" }, columns.iter().map(|c| format!("{table}.{c}")).collect::<Vec<_>>().join(", "))]
    UniqueViolation {
        /// The table.
        table: String,
        /// The constrained columns.
        columns: Vec<String>,
        /// Whether it is the primary key (otherwise a UNIQUE constraint or index).
        primary_key: bool,
    },
    /// Valid SQL that this engine does not implement.
    #[error("unsupported: {feature}")]
    Unsupported {
        /// What is not supported.
        feature: String,
    },
    /// Wrong use of the API or of a statement.
    #[error("invalid argument: {message}")]
    InvalidArgument {
        /// What was wrong.
        message: String,
    },
    /// Transaction control misuse.
    #[error("transaction error: {message}")]
    Transaction {
        /// What was wrong.
        message: String,
    },
    /// The storage layer failed (including retryable write-write conflicts).
    #[error("storage error: {0}")]
    Storage(#[from] toondb_storage::Error),
    /// Stored SQL data could not be decoded.
    #[error("corrupt SQL data: {message}")]
    Corrupt {
        /// What could not be decoded.
        message: String,
    },
}

impl Error {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Syntax { .. } => ErrorCode::Syntax,
            Error::UnknownTable { .. }
            | Error::UnknownView { .. }
            | Error::UnknownIndex { .. }
            | Error::UnknownColumn { .. } => ErrorCode::NotFound,
            Error::AmbiguousColumn { .. } => ErrorCode::AmbiguousColumn,
            Error::AlreadyExists { .. } => ErrorCode::AlreadyExists,
            Error::TypeMismatch { .. } => ErrorCode::TypeMismatch,
            Error::NotNullViolation { .. } | Error::UniqueViolation { .. } => {
                ErrorCode::ConstraintViolation
            }
            Error::Unsupported { .. } => ErrorCode::Unsupported,
            Error::InvalidArgument { .. } => ErrorCode::InvalidArgument,
            Error::Transaction { .. } => ErrorCode::Transaction,
            Error::Storage(e) if e.is_retryable() => ErrorCode::Conflict,
            Error::Storage(_) => ErrorCode::Storage,
            Error::Corrupt { .. } => ErrorCode::Corrupt,
        }
    }

    /// True when retrying the whole transaction may succeed (a write-write conflict).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Storage(e) if e.is_retryable())
    }

    pub(crate) fn unsupported(feature: impl Into<String>) -> Error {
        Error::Unsupported {
            feature: feature.into(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Error {
        Error::InvalidArgument {
            message: message.into(),
        }
    }

    pub(crate) fn mismatch(message: impl Into<String>) -> Error {
        Error::TypeMismatch {
            message: message.into(),
            table: None,
            column: None,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
