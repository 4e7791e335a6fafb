//! `toondb-bulk`: build, query, describe and convert HNSW index files from the shell.
//!
//! Exit codes: 0 success; 1 other failure; 2 bad command line; 65 bad input data (wrong
//! dimension, NaN, unsupported `.npy`, damaged `.hnsw`); 66 an input file cannot be opened.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use toondb::vector::{
    BulkParams, DistanceMetric, Embeddings, HnswParams, Neighbor, VectorError, VectorIndex,
    bulk_build_index_with_progress, bulk_info, read_npy_f32, write_npy_f32,
};

#[derive(Parser)]
#[command(
    name = "toondb-bulk",
    version,
    about = "Build, query and inspect ToonDB .hnsw vector indexes"
)]
#[command(
    after_help = "Exit codes: 0 ok, 1 failure, 2 usage, 65 bad input data, 66 input file not found"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Metric {
    Cosine,
    Euclidean,
    Dot,
}

impl From<Metric> for DistanceMetric {
    fn from(m: Metric) -> Self {
        match m {
            Metric::Cosine => DistanceMetric::Cosine,
            Metric::Euclidean => DistanceMetric::Euclidean,
            Metric::Dot => DistanceMetric::DotProduct,
        }
    }
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    /// Little-endian float32 values, row after row, no header.
    RawF32,
    /// NumPy `.npy`, 2-D float32.
    Npy,
}

#[derive(Subcommand)]
enum Command {
    /// Build an index from a 2-D float32 .npy file (row i gets id i).
    BuildIndex {
        /// Input embeddings (.npy, float32, 2-D, C order).
        #[arg(long)]
        input: PathBuf,
        /// Output index file (.hnsw); replaced atomically.
        #[arg(long)]
        output: PathBuf,
        /// Expected dimension; the build fails if the input differs.
        #[arg(long)]
        dimension: Option<usize>,
        /// Distance metric.
        #[arg(long, value_enum, default_value = "cosine")]
        metric: Metric,
        /// Links per node (2..=128).
        #[arg(long, default_value_t = 16)]
        m: usize,
        /// Beam width while building.
        #[arg(long, default_value_t = 200)]
        ef_construction: usize,
        /// Default beam width stored for searches.
        #[arg(long, default_value_t = 64)]
        ef_search: usize,
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Search an index with one or more query vectors.
    Query {
        /// Index file.
        #[arg(long)]
        index: PathBuf,
        /// Query vectors: a .npy file (2-D float32) or raw little-endian float32.
        #[arg(long)]
        query: PathBuf,
        /// Neighbours per query.
        #[arg(long, default_value_t = 10)]
        k: usize,
        /// Beam width (default: the index's stored value).
        #[arg(long)]
        ef_search: Option<usize>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Describe an index file from its header.
    Info {
        /// Index file.
        #[arg(long)]
        index: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Convert vectors between .npy and raw float32.
    Convert {
        /// Input file (.npy, or raw float32 with --dimension).
        #[arg(long)]
        input: PathBuf,
        /// Output file.
        #[arg(long)]
        output: PathBuf,
        /// Output format.
        #[arg(long, value_enum)]
        to_format: Format,
        /// Row length; required to read a raw float32 input.
        #[arg(long)]
        dimension: Option<usize>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            let code = match e.downcast_ref::<VectorError>() {
                Some(VectorError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    66
                }
                Some(VectorError::Io { .. }) | Some(VectorError::ThreadPool(_)) | None => 1,
                Some(_) => 65,
            };
            if code == 65 {
                eprintln!(
                    "hint: the input data or file is not what the command expects; see the message above"
                );
            }
            ExitCode::from(code)
        }
    }
}

fn is_npy(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}

/// Reads rows from a `.npy` file or a raw float32 file of rows of `dimension`.
fn read_rows(path: &Path, dimension: Option<usize>) -> Result<(Vec<f32>, usize)> {
    if is_npy(path) {
        let (rows, dim) = read_npy_f32(path)?;
        if let Some(d) = dimension
            && d != dim
        {
            return Err(VectorError::DimensionMismatch {
                expected: d,
                actual: dim,
            }
            .into());
        }
        return Ok((rows, dim));
    }
    let Some(dim) = dimension else {
        bail!(
            "{} is not a .npy file: give --dimension to read it as raw float32",
            path.display()
        );
    };
    if dim == 0 {
        bail!("--dimension must be at least 1");
    }
    let bytes = std::fs::read(path).map_err(|e| VectorError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    if bytes.len() % (4 * dim) != 0 {
        return Err(VectorError::InvalidInput(format!(
            "{}: {} bytes is not a whole number of float32 rows of dimension {dim}",
            path.display(),
            bytes.len()
        ))
        .into());
    }
    let rows = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok((rows, dim))
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::BuildIndex {
            input,
            output,
            dimension,
            metric,
            m,
            ef_construction,
            ef_search,
            threads,
        } => {
            let params = BulkParams {
                metric: metric.into(),
                hnsw: HnswParams {
                    m,
                    ef_construction,
                    ef_search,
                    max_elements: 0,
                },
                dimension,
                threads,
            };
            params.hnsw.validate()?;
            let bar = if std::io::stderr().is_terminal() {
                ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
            } else {
                ProgressBar::hidden()
            };
            bar.set_style(
                ProgressStyle::with_template("{bar:40} {pos}/{len} vectors  {per_sec}  ETA {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            let stats = bulk_build_index_with_progress(
                Embeddings::Npy(&input),
                &output,
                &params,
                &mut |done, total| {
                    bar.set_length(total as u64);
                    bar.set_position(done as u64);
                },
            )
            .with_context(|| format!("building {} from {}", output.display(), input.display()))?;
            bar.finish_and_clear();
            println!(
                "built {}: {} vectors in {:.2}s ({:.0} vectors/s build), {} bytes",
                output.display(),
                stats.vectors,
                stats.elapsed.as_secs_f64(),
                stats.rate,
                stats.index_bytes
            );
            Ok(())
        }
        Command::Query {
            index,
            query,
            k,
            ef_search,
            json,
        } => {
            let idx = VectorIndex::load(&index)?;
            let (rows, _) = read_rows(&query, Some(idx.dimension()))?;
            if rows.is_empty() {
                bail!("{} holds no query vector", query.display());
            }
            let ef = ef_search.unwrap_or(idx.params().ef_search);
            let results = idx.search_batch(&rows, k, ef)?;
            if json {
                let out: Vec<serde_json::Value> = results
                    .iter()
                    .enumerate()
                    .map(|(q, hits)| {
                        serde_json::json!({
                            "query": q,
                            "results": hits.iter().map(|n| serde_json::json!({"id": n.id, "distance": n.distance})).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                println!(
                    "{:>6}  {:>4}  {:>12}  {:>12}",
                    "query", "rank", "id", "distance"
                );
                for (q, hits) in results.iter().enumerate() {
                    for (rank, Neighbor { id, distance }) in hits.iter().enumerate() {
                        println!("{q:>6}  {:>4}  {id:>12}  {distance:>12.6}", rank + 1);
                    }
                }
            }
            Ok(())
        }
        Command::Info { index, json } => {
            let info = bulk_info(&index)?;
            if json {
                let v = serde_json::json!({
                    "path": index.display().to_string(),
                    "format_version": info.format_version,
                    "dimension": info.dimension,
                    "metric": info.metric.name(),
                    "m": info.params.m,
                    "ef_construction": info.params.ef_construction,
                    "ef_search": info.params.ef_search,
                    "count": info.count,
                    "segments": info.segments,
                    "file_bytes": info.file_bytes,
                    "body_crc32": format!("{:08x}", info.body_crc32),
                });
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!("file:            {}", index.display());
                println!("format version:  {}", info.format_version);
                println!("vectors:         {}", info.count);
                println!("dimension:       {}", info.dimension);
                println!("metric:          {}", info.metric);
                println!("m:               {}", info.params.m);
                println!("ef_construction: {}", info.params.ef_construction);
                println!("ef_search:       {}", info.params.ef_search);
                println!("segments:        {}", info.segments);
                println!("file bytes:      {}", info.file_bytes);
                println!("body crc32:      {:08x}", info.body_crc32);
            }
            Ok(())
        }
        Command::Convert {
            input,
            output,
            to_format,
            dimension,
        } => {
            let (rows, dim) = read_rows(&input, dimension)?;
            match to_format {
                Format::Npy => write_npy_f32(&output, &rows, dim)?,
                Format::RawF32 => {
                    let bytes: Vec<u8> = rows.iter().flat_map(|x| x.to_le_bytes()).collect();
                    std::fs::write(&output, bytes).map_err(|e| VectorError::Io {
                        path: output.clone(),
                        source: e,
                    })?;
                }
            }
            println!(
                "wrote {} rows of dimension {dim} to {}",
                rows.len() / dim,
                output.display()
            );
            Ok(())
        }
    }
}
