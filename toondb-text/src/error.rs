//! The crate's one error type.

use std::path::PathBuf;

/// A boxed engine error kept as the `source()` of an [`Error`] (never exposed as a type).
type BoxedSource = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in `toondb-text`.
///
/// Variants name the situation, not the engine underneath: no tantivy type appears here, the
/// engine's own error is only reachable through [`std::error::Error::source`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// [`TextIndex::open`](crate::TextIndex::open) found no index at this path.
    #[error("no text index at {path}")]
    NotFound {
        /// The directory that was opened.
        path: PathBuf,
    },

    /// [`TextIndex::create`](crate::TextIndex::create) found an index (or other files) already in
    /// the directory; it never overwrites.
    #[error("cannot create a text index at {path}: {reason}")]
    AlreadyExists {
        /// The directory that was given.
        path: PathBuf,
        /// What was found there.
        reason: String,
    },

    /// The directory holds something that is not a `toondb-text` index (another program's
    /// files, a plain tantivy index, or a newer format version).
    #[error("{path} is not a toondb-text index: {reason}")]
    NotAnIndex {
        /// The directory that was opened.
        path: PathBuf,
        /// Why it was rejected.
        reason: String,
    },

    /// The index is damaged: unreadable metadata, missing or corrupted segment files.
    #[error("the text index is damaged: {reason}")]
    Corrupted {
        /// What was found damaged.
        reason: String,
        /// The engine's error, when there is one.
        #[source]
        source: Option<BoxedSource>,
    },

    /// Another writer (in this process or another) holds the directory's lock.
    #[error("the text index at {path} is locked by another writer")]
    Locked {
        /// The index directory.
        path: PathBuf,
    },

    /// The schema given at creation is unusable.
    #[error("invalid text schema: {reason}")]
    InvalidSchema {
        /// What is wrong with it.
        reason: String,
    },

    /// [`TextIndex::open_or_create`](crate::TextIndex::open_or_create) found an index whose
    /// schema differs from the one asked for.
    #[error("the existing index's schema differs from the requested one: {reason}")]
    SchemaMismatch {
        /// The first difference found.
        reason: String,
    },

    /// A document or a search named a field the schema does not have (or one that cannot be
    /// used that way, such as searching a stored-only field).
    #[error("unknown field {name:?}{hint}")]
    UnknownField {
        /// The field name as given.
        name: String,
        /// Extra explanation (empty, or starting with a separator).
        hint: String,
    },

    /// [`TextIndex::add`](crate::TextIndex::add) was given an id that is already live (use
    /// [`TextIndex::upsert`](crate::TextIndex::upsert) to replace), or a batch adds the same id
    /// twice.
    #[error("document id {id} already exists (use upsert to replace it)")]
    DuplicateId {
        /// The offending id.
        id: u64,
    },

    /// [`TextIndex::commit`](crate::TextIndex::commit) was given a change sequence number below
    /// the one already recorded: the caller is applying changes out of order.
    #[error("change sequence went backwards: index has applied {last}, commit asked for {given}")]
    SeqRegression {
        /// The sequence number the index has recorded.
        last: u64,
        /// The sequence number the caller passed.
        given: u64,
    },

    /// The query analyzes to more distinct terms than a search accepts.
    #[error("query too long: {terms} distinct terms, at most {max} are accepted")]
    QueryTooLong {
        /// Distinct terms found in the query.
        terms: usize,
        /// The limit.
        max: usize,
    },

    /// An option was out of range (e.g. the writer's memory budget).
    #[error("invalid option: {reason}")]
    InvalidOption {
        /// What is wrong.
        reason: String,
    },

    /// A filesystem operation failed.
    #[error("I/O error while {context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// Any other failure of the engine underneath (tantivy).
    #[error("text engine error while {context}: {message}")]
    Engine {
        /// What was being done.
        context: &'static str,
        /// The engine's message.
        message: String,
        /// The engine's error.
        #[source]
        source: BoxedSource,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Maps a tantivy error to ours, classifying locks, corruption and I/O.
    pub(crate) fn engine(context: &'static str, err: tantivy::TantivyError) -> Self {
        use tantivy::TantivyError as T;
        match err {
            T::DataCorruption(_) | T::IncompatibleIndex(_) => Error::Corrupted {
                reason: format!("{context}: {err}"),
                source: Some(Box::new(err)),
            },
            T::OpenReadError(tantivy::directory::error::OpenReadError::FileDoesNotExist(
                ref path,
            )) => Error::Corrupted {
                reason: format!("{context}: file {} is missing", path.display()),
                source: Some(Box::new(err)),
            },
            T::OpenReadError(tantivy::directory::error::OpenReadError::IoError {
                ref io_error,
                ref filepath,
            }) if matches!(
                io_error.kind(),
                std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof
            ) =>
            {
                Error::Corrupted {
                    reason: format!(
                        "{context}: file {} is damaged ({io_error})",
                        filepath.display()
                    ),
                    source: Some(Box::new(err)),
                }
            }
            T::OpenReadError(tantivy::directory::error::OpenReadError::IncompatibleIndex(_)) => {
                Error::Corrupted {
                    reason: format!("{context}: {err}"),
                    source: Some(Box::new(err)),
                }
            }
            T::IoError(ref io)
                if matches!(
                    io.kind(),
                    std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof
                ) =>
            {
                Error::Corrupted {
                    reason: format!("{context}: {err}"),
                    source: Some(Box::new(err)),
                }
            }
            other => Error::Engine {
                context,
                message: other.to_string(),
                source: Box::new(other),
            },
        }
    }

    /// An I/O error with context.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// Whether this error means the index is damaged (as opposed to bad input or a busy lock).
    pub fn is_corruption(&self) -> bool {
        matches!(self, Error::Corrupted { .. })
    }
}
