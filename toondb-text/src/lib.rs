//! ToonDB's BM25 text engine, on tantivy.
//!
//! A [`TextIndex`] holds documents ([`TextDocument`]: a `u64` id and text for the named fields
//! of a [`TextSchema`]) in a directory or in memory, and ranks them for a plain-text query by
//! BM25 (k1 = 1.2, b = 0.75). Each field is analyzed by an [`Analyzer`]: English (lowercase +
//! Porter2 stemming, stop words kept) by default, or plain (lowercase only).
//!
//! - Writes ([`TextIndex::add`], [`TextIndex::upsert`], [`TextIndex::delete`],
//!   [`TextIndex::apply`] for a batch of [`TextOp`]s) are staged cheaply;
//!   [`TextIndex::commit`] makes them durable and visible to searches at once (one fsync per
//!   commit, so batch), and records the caller's change sequence number, read back by
//!   [`TextIndex::last_applied_seq`] after a reopen.
//! - [`TextIndex::search`] takes any user text: query syntax characters are just text, a
//!   query with no words returns nothing. [`TextIndex::search_filtered`] ranks only an
//!   allow-list of ids (exact top-k of the subset); [`SearchRequest`] combines options.
//! - Every failure is an [`Error`]; a damaged or foreign directory is reported as such.
//!
//! This crate knows nothing of storage: the ToonDB façade (`toondb`) keeps documents in
//! `toondb-storage` and feeds this index, which it treats as derived data that catches up from
//! [`TextIndex::last_applied_seq`]. The vector side lives in `toondb-vector`.
//!
//! ```
//! use toondb_text::{TextDocument, TextField, TextIndex, TextSchema};
//!
//! let schema = TextSchema::builder()
//!     .field(TextField::new("title").stored(true))
//!     .field(TextField::new("body"))
//!     .build()?;
//! let dir = tempfile::tempdir().unwrap();
//! let index = TextIndex::create(dir.path(), schema)?;
//! index.add(TextDocument::new(1).with("title", "Cats").with("body", "Cats chase mice."))?;
//! index.add(TextDocument::new(2).with("title", "Dogs").with("body", "Dogs chase cats and cars."))?;
//! index.commit(42)?; // durable + visible; 42 = the caller's change sequence
//!
//! let hits = index.search("chasing (cat", 10)?; // stemmed; the parenthesis is just text
//! assert_eq!(hits[0].0, 1);
//! assert_eq!(hits.len(), 2);
//!
//! drop(index);
//! let index = TextIndex::open(dir.path())?;
//! assert_eq!(index.last_applied_seq(), Some(42));
//! assert_eq!(index.get(1)?.unwrap().get("title"), Some("Cats"));
//! # Ok::<(), toondb_text::Error>(())
//! ```

mod document;
mod error;
mod index;
mod schema;
mod search;

pub use document::{TextDocument, TextOp};
pub use error::{Error, Result};
pub use index::{TextIndex, TextIndexBuilder};
pub use schema::{
    Analyzer, MAX_FIELD_NAME_BYTES, MAX_FIELDS, TextField, TextSchema, TextSchemaBuilder,
};
pub use search::{MAX_QUERY_TERMS, SearchRequest};
