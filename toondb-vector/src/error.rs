//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong in `toondb-vector`.
///
/// Every variant names what was wrong with the input, so a caller can report it or act on it;
/// no input makes the crate panic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VectorError {
    /// A vector's length differs from the index dimension.
    #[error("dimension mismatch: the index has dimension {expected}, the vector has {actual}")]
    DimensionMismatch {
        /// The index dimension.
        expected: usize,
        /// The length of the vector given.
        actual: usize,
    },
    /// A vector holds NaN or an infinite component, or its norm overflows.
    #[error("vector component {index} is not a finite number ({value})")]
    NonFiniteComponent {
        /// Position of the first bad component.
        index: usize,
        /// Its value.
        value: f32,
    },
    /// The vector's magnitude is so large that distances would overflow `f32`.
    #[error("vector norm is too large (squared norm {squared_norm:e}, limit 1e36)")]
    VectorTooLarge {
        /// The squared L2 norm of the vector.
        squared_norm: f64,
    },
    /// A zero vector was given to a cosine index, where it has no direction.
    #[error("zero vector: cosine distance is undefined for a vector of norm 0")]
    ZeroVector,
    /// `k` was 0.
    #[error("k must be at least 1")]
    ZeroK,
    /// No vector is stored under this id.
    #[error("unknown id {0}")]
    UnknownId(u64),
    /// An index parameter is out of its allowed range.
    #[error("invalid parameter {name} = {value}: {reason}")]
    InvalidParameter {
        /// Parameter name (`m`, `ef_construction`, `ef_search`, `dimension`, ...).
        name: &'static str,
        /// The value given.
        value: usize,
        /// What is allowed.
        reason: &'static str,
    },
    /// Input arrays do not fit together (e.g. `ids.len()` rows but a different number of vectors).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The index is full: it holds `u32::MAX - 1` slots in one segment.
    #[error("capacity exceeded: at most {limit} vectors per index")]
    CapacityExceeded {
        /// The limit.
        limit: usize,
    },
    /// The file is not a ToonDB `.hnsw` file (wrong magic bytes).
    #[error("{path}: not a ToonDB .hnsw index file (bad magic bytes)")]
    NotAnIndexFile {
        /// The file.
        path: PathBuf,
    },
    /// The file was written by a format version this build cannot read.
    #[error(
        "{path}: unsupported .hnsw format version {version} (this build reads version {supported})"
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// Version found in the file.
        version: u32,
        /// Highest version this build reads.
        supported: u32,
    },
    /// The file ends before the data its header announces.
    #[error("{path}: truncated .hnsw file: {detail}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// What was missing.
        detail: String,
    },
    /// The file's checksum or structure is wrong: it was damaged after being written.
    #[error("{path}: corrupt .hnsw file: {detail}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What check failed.
        detail: String,
    },
    /// A `.npy` file is not a 2-D little-endian float32 C-order array.
    #[error("{path}: unsupported .npy file: {detail}")]
    UnsupportedNpy {
        /// The file.
        path: PathBuf,
        /// What was found instead.
        detail: String,
    },
    /// An I/O error while reading or writing `path`.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A thread pool for a bulk build could not be created.
    #[error("could not create a thread pool: {0}")]
    ThreadPool(String),
}

/// `Result` with [`VectorError`].
pub type Result<T, E = VectorError> = std::result::Result<T, E>;

impl VectorError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        VectorError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
