//! ToonDB's HNSW vector engine.
//!
//! [`VectorIndex`] is an approximate nearest-neighbour index over `u64` ids with a
//! [`DistanceMetric`] and [`HnswParams`]; [`VectorIndex::search`] returns [`Neighbor`]s and
//! [`VectorIndex::search_filtered`] takes a [`Filter`]. Indexes are saved to and loaded from
//! the versioned `.hnsw` file ([`VectorIndex::save`], [`VectorIndex::load`]); the bulk API
//! ([`bulk_build_index`], [`bulk_query_index`], [`bulk_info`]) builds and queries index files
//! from rows or `.npy` files. Every failure is a [`VectorError`].
//!
//! The crate stands alone (no other ToonDB crate); the façade `toondb` re-exports it as
//! `toondb::vector`. Large batches (and merges, compaction) are built by the crate's own
//! parallel HNSW builder straight into flat `u32` link arrays, which the crate searches itself;
//! vectors inserted one by one go to an hnsw_rs write buffer that is frozen into the same
//! arrays when sealed.
//!
//! ```
//! use toondb_vector::{DistanceMetric, HnswParams, VectorIndex};
//!
//! let index = VectorIndex::new(3, DistanceMetric::Cosine, HnswParams::default())?;
//! index.insert(1, &[1.0, 0.0, 0.0])?;
//! index.insert(2, &[0.0, 1.0, 0.0])?;
//! index.insert(3, &[0.9, 0.1, 0.0])?;
//! let hits = index.search(&[1.0, 0.05, 0.0], 2)?;
//! assert_eq!(hits[0].id, 1);
//! assert_eq!(hits[1].id, 3);
//!
//! index.delete(1)?;
//! assert_eq!(index.search(&[1.0, 0.0, 0.0], 1)?[0].id, 3);
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("small.hnsw");
//! index.save(&path)?;
//! let again = VectorIndex::load(&path)?;
//! assert_eq!(again.len(), 2);
//! # Ok::<(), toondb_vector::VectorError>(())
//! ```
#![deny(missing_docs)]

mod build;
mod bulk;
mod error;
mod format;
mod index;
mod metric;
mod params;
mod segment;

pub use bulk::{
    BuildStats, BulkParams, Embeddings, bulk_build_index, bulk_build_index_with_progress,
    bulk_info, bulk_query_index, read_npy_f32, write_npy_f32,
};
pub use error::{Result, VectorError};
pub use format::{FORMAT_VERSION, IndexInfo, MAGIC};
pub use index::{Filter, Neighbor, VectorIndex};
pub use metric::DistanceMetric;
pub use params::{HnswParams, MAX_DIMENSION, MAX_EF, MAX_M};
