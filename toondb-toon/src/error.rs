//! The crate's error type.

/// Everything that can go wrong while encoding or decoding TOON.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not valid TOON (or not a valid compact table).
    ///
    /// `line` and `column` are 1-based and point at the offending character
    /// as closely as the decoder can tell (at worst, at the first character
    /// of the offending line's content).
    #[error("TOON syntax error at line {line}, column {column}: {message} (expected {expected})")]
    Syntax {
        /// 1-based line number.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What was found wrong.
        message: String,
        /// What the decoder expected instead.
        expected: String,
    },
    /// The input decoded, but the result does not fit the requested Rust
    /// type (for example a string where a `u32` field was declared).
    #[error("TOON decoded but does not fit the target type: {0}")]
    Type(String),
    /// The value cannot be represented as TOON (for example a map with
    /// non-string keys, or nesting deeper than the codec allows).
    #[error("cannot encode value as TOON: {0}")]
    Encode(String),
    /// An option is out of range (zero indentation, unknown delimiter name,
    /// a compact-table field list that does not fit, ...).
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// Writing the output or reading the input failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// The (line, column) of a syntax error, if this is one.
    pub fn position(&self) -> Option<(usize, usize)> {
        match self {
            Error::Syntax { line, column, .. } => Some((*line, *column)),
            _ => None,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
