//! Namespaces' collections: documents with vectors, text and metadata, and the searches
//! over them (vector, BM25, hybrid, multi-vector).
//!
//! Storage is the source of truth. Every write commits the document, its id mapping and a
//! change-log entry (keyed by the collection's change sequence number) in one storage
//! transaction; only then are the derived indexes — one HNSW index per vector name, one
//! tantivy index for text — updated in memory. Indexes are saved on checkpoint and close
//! with the sequence number they include; on open they are loaded and catch up by
//! replaying the change log (or are rebuilt from the documents when their files are
//! missing, damaged, or older than the retained log).

mod filter;
pub(crate) mod layout;
mod search;
mod state;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use filter::{Filter, Range};
pub use layout::{MAX_DOC_ID_LEN, MAX_NAME_LEN};
pub use search::{Aggregation, SearchResult};
pub(crate) use state::CollState;

use crate::vector::{DistanceMetric, HnswParams};
use crate::{Error, Result};

/// The immutable configuration of a collection, given to
/// [`Namespace::create_collection`](crate::Namespace::create_collection).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectionConfig {
    /// The collection's name: 1–48 bytes of `[A-Za-z0-9_-]`, not starting with `_`.
    pub name: String,
    /// Number of components of every vector.
    pub dimension: usize,
    /// The distance metric: `"cosine"`, `"euclidean"` or `"dot"`.
    #[serde(with = "metric_serde")]
    pub metric: DistanceMetric,
    /// Whether documents' text is indexed for BM25 keyword and hybrid search.
    pub enable_hybrid_search: bool,
    /// A metadata field whose text is indexed when a document has no `content`.
    pub content_field: Option<String>,
    /// HNSW parameters for the collection's vector indexes.
    #[serde(with = "params_serde")]
    pub hnsw: HnswParams,
}

impl CollectionConfig {
    /// A configuration with cosine distance, hybrid search on, no content field and
    /// default HNSW parameters.
    pub fn new(name: &str, dimension: usize) -> Self {
        CollectionConfig {
            name: name.to_string(),
            dimension,
            metric: DistanceMetric::Cosine,
            enable_hybrid_search: true,
            content_field: None,
            hnsw: HnswParams::default(),
        }
    }

    /// Sets the metric.
    pub fn metric(mut self, metric: DistanceMetric) -> Self {
        self.metric = metric;
        self
    }

    /// Turns text indexing (keyword and hybrid search) on or off.
    pub fn hybrid(mut self, enabled: bool) -> Self {
        self.enable_hybrid_search = enabled;
        self
    }

    /// Indexes `metadata[field]` as the text of documents that have no `content`.
    pub fn content_field(mut self, field: &str) -> Self {
        self.content_field = Some(field.to_string());
        self
    }

    /// Sets the HNSW parameters.
    pub fn hnsw(mut self, params: HnswParams) -> Self {
        self.hnsw = params;
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        layout::check_name("collection", &self.name)?;
        if self.dimension == 0 || self.dimension > crate::vector::MAX_DIMENSION {
            return Err(Error::InvalidArgument(format!(
                "dimension must be between 1 and {}",
                crate::vector::MAX_DIMENSION
            )));
        }
        // The vector engine validates M, ef and friends: build a throwaway index.
        crate::vector::VectorIndex::new(self.dimension, self.metric, self.hnsw)?;
        Ok(())
    }
}

mod metric_serde {
    use super::DistanceMetric;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(m: &DistanceMetric, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match m {
            DistanceMetric::Euclidean => "euclidean",
            DistanceMetric::DotProduct => "dot",
            _ => "cosine",
        })
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DistanceMetric, D::Error> {
        match String::deserialize(d)?.as_str() {
            "cosine" => Ok(DistanceMetric::Cosine),
            "euclidean" => Ok(DistanceMetric::Euclidean),
            "dot" => Ok(DistanceMetric::DotProduct),
            other => Err(serde::de::Error::custom(format!(
                "unknown metric {other:?}"
            ))),
        }
    }
}

mod params_serde {
    use super::HnswParams;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct P {
        m: usize,
        ef_construction: usize,
        ef_search: usize,
        max_elements: usize,
    }

    pub(super) fn serialize<S: Serializer>(p: &HnswParams, s: S) -> Result<S::Ok, S::Error> {
        P {
            m: p.m,
            ef_construction: p.ef_construction,
            ef_search: p.ef_search,
            max_elements: p.max_elements,
        }
        .serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<HnswParams, D::Error> {
        let p = P::deserialize(d)?;
        Ok(HnswParams {
            m: p.m,
            ef_construction: p.ef_construction,
            ef_search: p.ef_search,
            max_elements: p.max_elements,
        })
    }
}

/// A document to insert: an id, a vector (or several named ones), JSON metadata and
/// optional text content.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The document's id, unique within its collection (1 to 1024 bytes).
    pub id: String,
    /// Named vectors. [`Document::new`] makes the one default vector.
    pub vectors: BTreeMap<String, Vec<f32>>,
    /// JSON metadata (an object, or `null` for none).
    pub metadata: Value,
    /// Text for BM25; when `None`, `metadata[content_field]` is used if configured.
    pub content: Option<String>,
}

impl Document {
    /// A single-vector document.
    pub fn new(id: impl Into<String>, vector: Vec<f32>) -> Self {
        Document {
            id: id.into(),
            vectors: BTreeMap::from([(layout::DEFAULT_VECTOR.to_string(), vector)]),
            metadata: Value::Null,
            content: None,
        }
    }

    /// A multi-vector document with one vector per name (names as for collections).
    pub fn multi(
        id: impl Into<String>,
        vectors: impl IntoIterator<Item = (String, Vec<f32>)>,
    ) -> Self {
        Document {
            id: id.into(),
            vectors: vectors.into_iter().collect(),
            metadata: Value::Null,
            content: None,
        }
    }

    /// Sets the metadata.
    pub fn metadata(mut self, metadata: Value) -> Self {
        self.metadata = metadata;
        self
    }

    /// Sets the text content.
    pub fn content(mut self, content: impl Into<String>) -> Self {
        self.content = Some(content.into());
        self
    }
}

/// A document read back from a collection.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDocument {
    /// The document's id.
    pub id: String,
    /// Its vectors by name (a single-vector document's is named `_default`).
    pub vectors: BTreeMap<String, Vec<f32>>,
    /// Its metadata.
    pub metadata: Value,
    /// Its content.
    pub content: Option<String>,
}

/// A collection of documents in a namespace: a cheap handle (`Clone + Send + Sync`).
///
/// ```
/// # fn main() -> toondb::Result<()> {
/// use serde_json::json;
/// use toondb::{CollectionConfig, Database, Filter};
///
/// let dir = tempfile::tempdir()?;
/// let db = Database::open(dir.path())?;
/// let ns = db.create_namespace("acme", "Acme Corp", Default::default())?;
/// let docs = ns.create_collection(CollectionConfig::new("docs", 3))?;
/// docs.insert("a", vec![1.0, 0.0, 0.0], json!({"lang": "en"}), Some("rust embedded database"))?;
/// docs.insert("b", vec![0.0, 1.0, 0.0], json!({"lang": "de"}), Some("eine Datenbank"))?;
///
/// let hits = docs.search(&[0.9, 0.1, 0.0], 1, None)?;
/// assert_eq!(hits[0].id, "a");
/// let hits = docs.keyword_search("database", 5, None)?;
/// assert_eq!(hits[0].id, "a");
/// let hits = docs.hybrid_search(&[0.0, 1.0, 0.0], "database", 2, 0.5, true, Some(&Filter::eq("lang", "de")))?;
/// assert_eq!(hits.len(), 1);
/// assert_eq!(hits[0].id, "b");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Collection {
    pub(crate) state: Arc<CollState>,
}

impl std::fmt::Debug for Collection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collection")
            .field("namespace", &self.state.namespace)
            .field("name", &self.state.config.name)
            .finish()
    }
}

impl Collection {
    /// The collection's configuration.
    pub fn config(&self) -> &CollectionConfig {
        &self.state.config
    }

    /// The collection's name.
    pub fn name(&self) -> &str {
        &self.state.config.name
    }

    /// Inserts a new single-vector document; fails with
    /// [`Error::DuplicateDocument`] if the id exists.
    pub fn insert(
        &self,
        id: &str,
        vector: Vec<f32>,
        metadata: Value,
        content: Option<&str>,
    ) -> Result<()> {
        let mut doc = Document::new(id, vector).metadata(metadata);
        doc.content = content.map(str::to_string);
        self.state.write(vec![doc], false)
    }

    /// Inserts or replaces a single-vector document.
    pub fn upsert(
        &self,
        id: &str,
        vector: Vec<f32>,
        metadata: Value,
        content: Option<&str>,
    ) -> Result<()> {
        let mut doc = Document::new(id, vector).metadata(metadata);
        doc.content = content.map(str::to_string);
        self.state.write(vec![doc], true)
    }

    /// Inserts many new documents in one transaction (the fast path): all or nothing.
    /// Duplicate ids, inside the batch or with existing documents, are an error.
    pub fn insert_batch(&self, docs: Vec<Document>) -> Result<()> {
        self.state.write(docs, false)
    }

    /// Inserts or replaces many documents in one transaction.
    pub fn upsert_batch(&self, docs: Vec<Document>) -> Result<()> {
        self.state.write(docs, true)
    }

    /// Inserts a new document with several named vectors, for
    /// [`multi_vector_search`](Self::multi_vector_search).
    pub fn insert_multi_vector(
        &self,
        id: &str,
        vectors: HashMap<String, Vec<f32>>,
        metadata: Value,
    ) -> Result<()> {
        for name in vectors.keys() {
            layout::check_name("vector", name)?;
        }
        let doc = Document::multi(id, vectors).metadata(metadata);
        self.state.write(vec![doc], false)
    }

    /// Reads a document.
    pub fn get(&self, id: &str) -> Result<Option<StoredDocument>> {
        self.state.get(id)
    }

    /// Deletes a document; returns whether it existed.
    pub fn delete(&self, id: &str) -> Result<bool> {
        self.state.delete(id)
    }

    /// Number of documents.
    pub fn count(&self) -> usize {
        self.state.count()
    }

    /// The `k` documents whose default vector is nearest to `vector`, best first,
    /// among those matching `filter`.
    pub fn search(
        &self,
        vector: &[f32],
        k: usize,
        filter: Option<&Filter>,
    ) -> Result<Vec<SearchResult>> {
        self.state.vector_search(vector, k, filter)
    }

    /// The `k` documents that best match `text` by BM25, among those matching `filter`.
    pub fn keyword_search(
        &self,
        text: &str,
        k: usize,
        filter: Option<&Filter>,
    ) -> Result<Vec<SearchResult>> {
        self.state.keyword_search(text, k, filter)
    }

    /// Vector and keyword search fused: with `rrf_fusion`, by Reciprocal Rank Fusion
    /// (score = Σ 1/(60 + rank)); otherwise by min-max normalized scores weighted
    /// `alpha` (vector) and `1 − alpha` (text). `filter` applies to both sides.
    pub fn hybrid_search(
        &self,
        vector: &[f32],
        text: &str,
        k: usize,
        alpha: f32,
        rrf_fusion: bool,
        filter: Option<&Filter>,
    ) -> Result<Vec<SearchResult>> {
        let fusion = if rrf_fusion {
            search::Fusion::Rrf {
                k: search::DEFAULT_RRF_K,
            }
        } else {
            search::Fusion::Alpha(alpha)
        };
        self.state.hybrid_search(vector, text, k, fusion, filter)
    }

    /// Like [`hybrid_search`](Self::hybrid_search) with RRF and a chosen RRF constant.
    pub fn hybrid_search_rrf(
        &self,
        vector: &[f32],
        text: &str,
        k: usize,
        rrf_k: f32,
        filter: Option<&Filter>,
    ) -> Result<Vec<SearchResult>> {
        self.state
            .hybrid_search(vector, text, k, search::Fusion::Rrf { k: rrf_k }, filter)
    }

    /// Searches documents with several named vectors: each named query is compared with
    /// the document's vector of that name, and the similarities are aggregated into one
    /// score per document.
    pub fn multi_vector_search(
        &self,
        queries: &HashMap<String, Vec<f32>>,
        k: usize,
        aggregation: &Aggregation,
    ) -> Result<Vec<SearchResult>> {
        self.state.multi_vector_search(queries, k, aggregation)
    }
}
