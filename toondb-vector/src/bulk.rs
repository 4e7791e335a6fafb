//! The bulk API: build an index file from many rows at once, query it, describe it; and the
//! `.npy` reader and writer it uses.

use std::fs::File;

use npyz::WriterBuilder;
use std::io::{BufReader, BufWriter};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{Result, VectorError};
use crate::format::IndexInfo;
use crate::index::{Neighbor, VectorIndex};
use crate::metric::DistanceMetric;
use crate::params::HnswParams;

/// Where the vectors of a bulk build come from. Row `i` gets id `i`.
#[derive(Debug, Clone, Copy)]
pub enum Embeddings<'a> {
    /// Row-major rows of `dimension` floats.
    Rows {
        /// `rows × dimension` floats.
        data: &'a [f32],
        /// Floats per row.
        dimension: usize,
    },
    /// A `.npy` file holding a 2-D, C-order float32 array.
    Npy(&'a Path),
}

/// Options of [`bulk_build_index`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BulkParams {
    /// Distance metric.
    pub metric: DistanceMetric,
    /// HNSW parameters.
    pub hnsw: HnswParams,
    /// Expected dimension; the build fails if the input differs. `None` accepts any.
    pub dimension: Option<usize>,
    /// Worker threads; `None` uses all cores.
    pub threads: Option<usize>,
}

/// What a bulk build did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BuildStats {
    /// Vectors indexed.
    pub vectors: usize,
    /// Build throughput in vectors per second (graph build only, not reading or writing).
    pub rate: f64,
    /// Size of the written `.hnsw` file in bytes.
    pub index_bytes: u64,
    /// Wall time of the whole call: reading, building and writing.
    pub elapsed: Duration,
}

/// Reads a `.npy` file holding a 2-D, C-order float32 array; returns the rows and the row
/// length. Any other dtype, rank or order is a [`VectorError::UnsupportedNpy`].
pub fn read_npy_f32(path: impl AsRef<Path>) -> Result<(Vec<f32>, usize)> {
    let path = path.as_ref();
    let bad = |detail: String| VectorError::UnsupportedNpy {
        path: path.to_path_buf(),
        detail,
    };
    let file = File::open(path).map_err(|e| VectorError::io(path, e))?;
    let npy = npyz::NpyFile::new(BufReader::with_capacity(1 << 20, file))
        .map_err(|e| bad(format!("not a .npy file: {e}")))?;
    let shape = npy.shape().to_vec();
    if shape.len() != 2 {
        return Err(bad(format!(
            "shape {shape:?}: expected 2 dimensions (rows, dimension)"
        )));
    }
    if npy.order() != npyz::Order::C {
        return Err(bad(
            "Fortran order: expected C order (numpy.ascontiguousarray)".into(),
        ));
    }
    match npy.dtype() {
        npyz::DType::Plain(ts)
            if ts.type_char() == npyz::TypeChar::Float && ts.size_field() == 4 => {}
        other => {
            return Err(bad(format!(
                "dtype {}: expected float32 ('<f4')",
                other.descr()
            )));
        }
    }
    let dim = usize::try_from(shape[1]).map_err(|_| bad("dimension too large".into()))?;
    if dim == 0 {
        return Err(bad("rows of dimension 0".into()));
    }
    let data: Vec<f32> = npy
        .into_vec()
        .map_err(|e| bad(format!("reading data: {e}")))?;
    Ok((data, dim))
}

/// Writes rows of `dimension` floats as a 2-D float32 `.npy` file.
pub fn write_npy_f32(path: impl AsRef<Path>, data: &[f32], dimension: usize) -> Result<()> {
    let path = path.as_ref();
    if dimension == 0 || !data.len().is_multiple_of(dimension) {
        return Err(VectorError::InvalidInput(format!(
            "{} floats is not a whole number of rows of dimension {dimension}",
            data.len()
        )));
    }
    let io = |e| VectorError::io(path, e);
    let file = File::create(path).map_err(io)?;
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&[(data.len() / dimension) as u64, dimension as u64])
        .writer(BufWriter::new(file))
        .begin_nd()
        .map_err(io)?;
    w.extend(data.iter().copied()).map_err(io)?;
    w.finish().map_err(io)
}

/// Builds an index from `embeddings` (row `i` gets id `i`) and writes it to `output`.
pub fn bulk_build_index(
    embeddings: Embeddings<'_>,
    output: impl AsRef<Path>,
    params: &BulkParams,
) -> Result<BuildStats> {
    bulk_build_index_with_progress(embeddings, output, params, &mut |_, _| {})
}

/// [`bulk_build_index`], calling `progress(done, total)` as the build advances.
pub fn bulk_build_index_with_progress(
    embeddings: Embeddings<'_>,
    output: impl AsRef<Path>,
    params: &BulkParams,
    progress: &mut (dyn FnMut(usize, usize) + Send),
) -> Result<BuildStats> {
    let start = Instant::now();
    let owned;
    let (data, dim): (&[f32], usize) = match embeddings {
        Embeddings::Rows { data, dimension } => (data, dimension),
        Embeddings::Npy(path) => {
            owned = read_npy_f32(path)?;
            (&owned.0, owned.1)
        }
    };
    if let Some(want) = params.dimension
        && want != dim
    {
        return Err(VectorError::DimensionMismatch {
            expected: want,
            actual: dim,
        });
    }
    if dim == 0 || !data.len().is_multiple_of(dim) {
        return Err(VectorError::InvalidInput(format!(
            "{} floats is not a whole number of rows of dimension {dim}",
            data.len()
        )));
    }
    if let Some(0) = params.threads {
        return Err(VectorError::InvalidParameter {
            name: "threads",
            value: 0,
            reason: "must be at least 1",
        });
    }
    let rows = data.len() / dim;
    let hnsw = HnswParams {
        max_elements: rows,
        ..params.hnsw
    };
    let index = VectorIndex::new(dim, params.metric, hnsw)?;
    let ids: Vec<u64> = (0..rows as u64).collect();
    let build_start = Instant::now();
    let mut pool_builder = rayon::ThreadPoolBuilder::new();
    if let Some(t) = params.threads {
        pool_builder = pool_builder.num_threads(t);
    }
    let pool = pool_builder
        .build()
        .map_err(|e| VectorError::ThreadPool(e.to_string()))?;
    pool.install(|| {
        index.insert_batch_with_progress(&ids, data, progress)?;
        index.seal();
        Ok::<(), VectorError>(())
    })?;
    let build_secs = build_start.elapsed().as_secs_f64();
    let output = output.as_ref();
    index.save(output)?;
    let index_bytes = std::fs::metadata(output)
        .map_err(|e| VectorError::io(output, e))?
        .len();
    Ok(BuildStats {
        vectors: rows,
        rate: if build_secs > 0.0 {
            rows as f64 / build_secs
        } else {
            0.0
        },
        index_bytes,
        elapsed: start.elapsed(),
    })
}

/// Loads the index at `path` and returns the `k` nearest neighbours of `query`.
pub fn bulk_query_index(
    path: impl AsRef<Path>,
    query: &[f32],
    k: usize,
    ef_search: usize,
) -> Result<Vec<Neighbor>> {
    VectorIndex::load(path)?.search_with_ef(query, k, ef_search)
}

/// Describes the index at `path` from its header.
pub fn bulk_info(path: impl AsRef<Path>) -> Result<IndexInfo> {
    VectorIndex::read_info(path)
}
