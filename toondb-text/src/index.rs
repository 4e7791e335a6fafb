//! `TextIndex`: the index handle, its writer state and its reader.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use tantivy::collector::Count;
use tantivy::indexer::IndexWriterOptions;
use tantivy::query::TermQuery;
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term};

use crate::document::{TextDocument, TextOp};
use crate::error::{Error, Result};
use crate::schema::{ID_FIELD, TextSchema, register_analyzers};

/// Prefix of the commit payload every commit of a `toondb-text` index carries.
const PAYLOAD_PREFIX: &str = "toondb-text/1;seq=";
/// Smallest writer memory budget per thread tantivy accepts.
const MIN_MEMORY_PER_THREAD: usize = 15_000_000;
/// Largest writer memory budget per thread tantivy accepts (with margin).
const MAX_MEMORY_PER_THREAD: usize = 4_000_000_000;
/// Most writer threads.
const MAX_WRITER_THREADS: usize = 8;

fn encode_payload(seq: Option<u64>) -> String {
    match seq {
        Some(s) => format!("{PAYLOAD_PREFIX}{s}"),
        None => format!("{PAYLOAD_PREFIX}-"),
    }
}

/// Parses the commit payload: `Ok(seq)` for ours, `Err(reason)` otherwise.
fn decode_payload(payload: Option<&str>) -> std::result::Result<Option<u64>, String> {
    let Some(payload) = payload else {
        return Err("its last commit carries no toondb-text marker".into());
    };
    let Some(rest) = payload.strip_prefix(PAYLOAD_PREFIX) else {
        return Err(format!(
            "unknown commit marker {:?}",
            payload.chars().take(40).collect::<String>()
        ));
    };
    if rest == "-" {
        return Ok(None);
    }
    rest.parse::<u64>()
        .map(Some)
        .map_err(|_| format!("malformed sequence number {rest:?} in the commit marker"))
}

/// Options for creating or opening a [`TextIndex`]; start from [`TextIndex::builder`].
///
/// ```
/// use toondb_text::{Analyzer, TextIndex, TextSchema};
/// let schema = TextSchema::single("body", Analyzer::English)?;
/// let index = TextIndex::builder().writer_threads(1).in_memory(schema)?;
/// assert!(index.is_empty());
/// # Ok::<(), toondb_text::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TextIndexBuilder {
    writer_threads: usize,
    memory_per_thread: usize,
    verify_checksums: bool,
}

impl Default for TextIndexBuilder {
    fn default() -> Self {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 4);
        TextIndexBuilder {
            writer_threads: threads,
            memory_per_thread: 32_000_000,
            verify_checksums: true,
        }
    }
}

impl TextIndexBuilder {
    /// Indexing threads of the writer (1 to 8; default: available cores, at most 4). Staged
    /// documents are analyzed by these threads while the caller keeps staging.
    #[must_use]
    pub fn writer_threads(mut self, threads: usize) -> Self {
        self.writer_threads = threads;
        self
    }

    /// The writer's memory budget per thread, in bytes (15 MB to 4 GB; default 32 MB). When a
    /// thread's buffer is full it flushes a segment on its own, without a commit.
    #[must_use]
    pub fn writer_memory_per_thread(mut self, bytes: usize) -> Self {
        self.memory_per_thread = bytes;
        self
    }

    /// Whether [`open`](Self::open) reads every segment file and checks its checksum
    /// (default `true`; costs one sequential read of the index).
    #[must_use]
    pub fn verify_checksums(mut self, verify: bool) -> Self {
        self.verify_checksums = verify;
        self
    }

    fn writer_options(&self) -> Result<IndexWriterOptions> {
        if !(1..=MAX_WRITER_THREADS).contains(&self.writer_threads) {
            return Err(Error::InvalidOption {
                reason: format!(
                    "writer_threads is {}, it must be 1 to {MAX_WRITER_THREADS}",
                    self.writer_threads
                ),
            });
        }
        if !(MIN_MEMORY_PER_THREAD..=MAX_MEMORY_PER_THREAD).contains(&self.memory_per_thread) {
            return Err(Error::InvalidOption {
                reason: format!(
                    "writer_memory_per_thread is {} bytes, it must be \
                     {MIN_MEMORY_PER_THREAD} to {MAX_MEMORY_PER_THREAD}",
                    self.memory_per_thread
                ),
            });
        }
        Ok(IndexWriterOptions::builder()
            .num_worker_threads(self.writer_threads)
            .memory_budget_per_thread(self.memory_per_thread)
            .build())
    }

    /// Creates a new index in `path`, which must be absent or an empty directory.
    pub fn create(&self, path: impl AsRef<Path>, schema: TextSchema) -> Result<TextIndex> {
        let path = path.as_ref();
        let options = self.writer_options()?;
        match std::fs::read_dir(path) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    let reason = if path.join("meta.json").exists() {
                        "the directory already holds an index"
                    } else {
                        "the directory is not empty"
                    };
                    return Err(Error::AlreadyExists {
                        path: path.to_path_buf(),
                        reason: reason.into(),
                    });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(path)
                    .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
                return Err(Error::AlreadyExists {
                    path: path.to_path_buf(),
                    reason: "the path is a file".into(),
                });
            }
            Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
        }
        let index = Index::builder()
            .schema(schema.to_tantivy())
            .create_in_dir(path)
            .map_err(|e| Error::engine("creating the index", e))?;
        TextIndex::initialize(index, options, Some(path.to_path_buf()), schema)
    }

    /// Opens the index in `path` (its schema is read from the index).
    pub fn open(&self, path: impl AsRef<Path>) -> Result<TextIndex> {
        let path = path.as_ref();
        let options = self.writer_options()?;
        let not_an_index = |reason: &str| Error::NotAnIndex {
            path: path.to_path_buf(),
            reason: reason.into(),
        };
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound {
                    path: path.to_path_buf(),
                });
            }
            Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
            Ok(m) if !m.is_dir() => return Err(not_an_index("the path is not a directory")),
            Ok(_) => {}
        }
        if !path.join("meta.json").is_file() {
            let empty = std::fs::read_dir(path)
                .map_err(|e| Error::io(format!("reading {}", path.display()), e))?
                .next()
                .is_none();
            return Err(if empty {
                Error::NotFound {
                    path: path.to_path_buf(),
                }
            } else {
                not_an_index("the directory has no meta.json")
            });
        }
        let index = Index::open_in_dir(path).map_err(|e| match e {
            tantivy::TantivyError::SchemaError(msg) => not_an_index(&msg),
            other => Error::engine("opening the index", other),
        })?;
        let schema = TextSchema::from_tantivy(&index.schema()).map_err(|r| not_an_index(&r))?;
        TextIndex::attach(
            index,
            options,
            Some(path.to_path_buf()),
            schema,
            self.verify_checksums,
        )
    }

    /// Opens the index in `path` if there is one (its schema must equal `schema`, else
    /// [`Error::SchemaMismatch`]), or creates it.
    pub fn open_or_create(&self, path: impl AsRef<Path>, schema: TextSchema) -> Result<TextIndex> {
        let path = path.as_ref();
        match self.open(path) {
            Ok(index) => match index.schema().difference(&schema) {
                None => Ok(index),
                Some(reason) => Err(Error::SchemaMismatch { reason }),
            },
            Err(Error::NotFound { .. }) => self.create(path, schema),
            Err(e) => Err(e),
        }
    }

    /// Creates an index that lives in memory only (gone when the last handle drops).
    pub fn in_memory(&self, schema: TextSchema) -> Result<TextIndex> {
        let options = self.writer_options()?;
        let index = Index::builder()
            .schema(schema.to_tantivy())
            .create_in_ram()
            .map_err(|e| Error::engine("creating the index", e))?;
        TextIndex::initialize(index, options, None, schema)
    }
}

/// How a schema field maps onto the tantivy index.
struct FieldSlot {
    field: Field,
    name: String,
    indexed: bool,
    stored: bool,
    analyzer: TextAnalyzer,
}

/// The single writer, with what was staged since the last commit.
struct WriterState {
    writer: IndexWriter<TantivyDocument>,
    /// Liveness of every id touched since the last commit (`true` = live after the staged ops).
    staged: HashMap<u64, bool>,
    /// Operations staged since the last commit.
    pending: usize,
    /// `clear()` was staged: every committed document is dead.
    cleared: bool,
    /// The last reload after a commit failed: reload before trusting the reader again.
    reader_stale: bool,
}

pub(crate) struct Inner {
    reader: IndexReader,
    schema: TextSchema,
    id_field: Field,
    fields: Vec<FieldSlot>,
    writer: Mutex<WriterState>,
    last_seq: RwLock<Option<u64>>,
    path: Option<PathBuf>,
}

/// A BM25 full-text index over documents with a `u64` id and named text fields.
///
/// A cheap handle (`Clone + Send + Sync`): clones share one index, one writer and one reader.
///
/// # Writes, commits and visibility (the cost model)
///
/// [`add`](Self::add), [`upsert`](Self::upsert), [`delete`](Self::delete),
/// [`apply`](Self::apply) and [`clear`](Self::clear) only **stage** a change: it costs
/// microseconds (the text is handed to the writer's indexing threads) and is neither durable
/// nor visible to searches. [`commit`](Self::commit) makes everything staged durable (a
/// segment flush and an fsync: measured ~64 ms on disk even for one document, a few ms in
/// memory) **and** visible: it reloads the reader before returning, so a search issued after
/// `commit` returns sees the caller's writes (read-your-writes). Staging is unbounded by
/// commits: when the writer's memory budget fills, it flushes segments by itself. So stage
/// many writes and commit once; per-write commits cost one fsync each.
///
/// # Change sequence
///
/// `commit(seq)` records `seq` (the caller's change sequence number, e.g. storage's commit
/// sequence) in the commit itself; [`last_applied_seq`](Self::last_applied_seq) reads it back,
/// also after reopening. It must not go backwards ([`Error::SeqRegression`]), except right
/// after [`clear`](Self::clear) (a rebuild).
///
/// # Concurrency
///
/// Searches run from any number of threads and never wait for writers; each sees the last
/// commit (or reload). Writes are serialized by an internal lock.
#[derive(Clone)]
pub struct TextIndex {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TextIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextIndex")
            .field("path", &self.inner.path)
            .field("schema", &self.inner.schema)
            .field("last_applied_seq", &*self.inner.last_seq.read())
            .finish_non_exhaustive()
    }
}

impl TextIndex {
    /// Options for creating or opening an index.
    pub fn builder() -> TextIndexBuilder {
        TextIndexBuilder::default()
    }

    /// Creates a new index in `path` (absent or empty directory) with default options.
    pub fn create(path: impl AsRef<Path>, schema: TextSchema) -> Result<TextIndex> {
        TextIndexBuilder::default().create(path, schema)
    }

    /// Opens an existing index with default options.
    pub fn open(path: impl AsRef<Path>) -> Result<TextIndex> {
        TextIndexBuilder::default().open(path)
    }

    /// Opens the index in `path`, or creates it with `schema`; see
    /// [`TextIndexBuilder::open_or_create`].
    pub fn open_or_create(path: impl AsRef<Path>, schema: TextSchema) -> Result<TextIndex> {
        TextIndexBuilder::default().open_or_create(path, schema)
    }

    /// Creates an in-memory index with default options.
    pub fn in_memory(schema: TextSchema) -> Result<TextIndex> {
        TextIndexBuilder::default().in_memory(schema)
    }

    /// A fresh index: attach, then write the first commit carrying our marker.
    fn initialize(
        index: Index,
        options: IndexWriterOptions,
        path: Option<PathBuf>,
        schema: TextSchema,
    ) -> Result<TextIndex> {
        register_analyzers(index.tokenizers());
        let mut writer = index
            .writer_with_options::<TantivyDocument>(options)
            .map_err(|e| lock_error(e, path.as_deref()))?;
        let mut prepared = writer
            .prepare_commit()
            .map_err(|e| Error::engine("writing the first commit", e))?;
        prepared.set_payload(&encode_payload(None));
        prepared
            .commit()
            .map_err(|e| Error::engine("writing the first commit", e))?;
        TextIndex::assemble(index, writer, path, schema, None)
    }

    /// An existing index: check the marker (and checksums), then attach.
    fn attach(
        index: Index,
        options: IndexWriterOptions,
        path: Option<PathBuf>,
        schema: TextSchema,
        verify_checksums: bool,
    ) -> Result<TextIndex> {
        register_analyzers(index.tokenizers());
        let metas = index
            .load_metas()
            .map_err(|e| Error::engine("reading the index metadata", e))?;
        let seq = decode_payload(metas.payload.as_deref()).map_err(|reason| Error::NotAnIndex {
            path: path.clone().unwrap_or_default(),
            reason,
        })?;
        if verify_checksums {
            let damaged = index
                .validate_checksum()
                .map_err(|e| Error::engine("verifying checksums", e))?;
            if !damaged.is_empty() {
                let mut names: Vec<String> =
                    damaged.iter().map(|p| p.display().to_string()).collect();
                names.sort();
                return Err(Error::Corrupted {
                    reason: format!("checksum mismatch in {}", names.join(", ")),
                    source: None,
                });
            }
        }
        let writer = index
            .writer_with_options::<TantivyDocument>(options)
            .map_err(|e| lock_error(e, path.as_deref()))?;
        TextIndex::assemble(index, writer, path, schema, seq)
    }

    fn assemble(
        index: Index,
        writer: IndexWriter<TantivyDocument>,
        path: Option<PathBuf>,
        schema: TextSchema,
        seq: Option<u64>,
    ) -> Result<TextIndex> {
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| Error::engine("opening the reader", e))?;
        let tantivy_schema = index.schema();
        let field = |name: &str| {
            tantivy_schema
                .get_field(name)
                .map_err(|_| Error::NotAnIndex {
                    path: path.clone().unwrap_or_default(),
                    reason: format!("field {name:?} is missing"),
                })
        };
        let id_field = field(ID_FIELD)?;
        let mut fields = Vec::with_capacity(schema.fields().len());
        for f in schema.fields() {
            fields.push(FieldSlot {
                field: field(f.name())?,
                name: f.name().to_string(),
                indexed: f.is_indexed(),
                stored: f.is_stored(),
                analyzer: f.analyzer_kind().build(),
            });
        }
        Ok(TextIndex {
            inner: Arc::new(Inner {
                reader,
                schema,
                id_field,
                fields,
                writer: Mutex::new(WriterState {
                    writer,
                    staged: HashMap::new(),
                    pending: 0,
                    cleared: false,
                    reader_stale: false,
                }),
                last_seq: RwLock::new(seq),
                path,
            }),
        })
    }

    /// The schema the index was created with.
    pub fn schema(&self) -> &TextSchema {
        &self.inner.schema
    }

    /// The index directory (`None` for an in-memory index).
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    // ----- writes ---------------------------------------------------------------------------

    /// Stages a new document. Fails with [`Error::DuplicateId`] if the id is live (committed and
    /// not deleted, or staged), and with [`Error::UnknownField`] if the document names a field
    /// the schema lacks. Not visible until [`commit`](Self::commit).
    pub fn add(&self, doc: TextDocument) -> Result<()> {
        self.apply([TextOp::Add(doc)])
    }

    /// Stages a document, replacing any live document with the same id.
    pub fn upsert(&self, doc: TextDocument) -> Result<()> {
        self.apply([TextOp::Upsert(doc)])
    }

    /// Stages the removal of the document `id`; returns whether one was live.
    pub fn delete(&self, id: u64) -> Result<bool> {
        let mut w = self.inner.writer.lock();
        self.refresh_if_stale(&mut w)?;
        let searcher = self.inner.reader.searcher();
        let was_live = self.is_live(&w, &searcher, id)?;
        w.writer.delete_term(self.id_term(id));
        w.staged.insert(id, false);
        w.pending += 1;
        Ok(was_live)
    }

    /// Stages a batch of writes under one lock, in order. The batch is validated first (fields,
    /// duplicate adds, also against earlier operations of the same batch): on error nothing of
    /// it is staged.
    pub fn apply(&self, ops: impl IntoIterator<Item = TextOp>) -> Result<()> {
        let ops: Vec<TextOp> = ops.into_iter().collect();
        // Convert (and so validate the fields of) every document before taking the lock.
        let mut docs: Vec<Option<TantivyDocument>> = Vec::with_capacity(ops.len());
        for op in &ops {
            docs.push(match op {
                TextOp::Add(d) | TextOp::Upsert(d) => Some(self.to_tantivy(d)?),
                TextOp::Delete(_) => None,
            });
        }
        let mut w = self.inner.writer.lock();
        self.refresh_if_stale(&mut w)?;
        let searcher = self.inner.reader.searcher();
        // Dry run: liveness after each op, so a duplicate add fails before anything is staged.
        let mut overlay: HashMap<u64, bool> = HashMap::new();
        for op in &ops {
            let id = op.id();
            match op {
                TextOp::Add(_) => {
                    let live = match overlay.get(&id) {
                        Some(&l) => l,
                        None => self.is_live(&w, &searcher, id)?,
                    };
                    if live {
                        return Err(Error::DuplicateId { id });
                    }
                    overlay.insert(id, true);
                }
                TextOp::Upsert(_) => {
                    overlay.insert(id, true);
                }
                TextOp::Delete(_) => {
                    overlay.insert(id, false);
                }
            }
        }
        for (op, doc) in ops.iter().zip(docs) {
            let id = op.id();
            if !matches!(op, TextOp::Add(_)) {
                w.writer.delete_term(self.id_term(id));
            }
            if let Some(doc) = doc {
                w.writer
                    .add_document(doc)
                    .map_err(|e| Error::engine("staging a document", e))?;
            }
        }
        w.pending += ops.len();
        w.staged.extend(overlay);
        Ok(())
    }

    /// Stages the removal of every document (for a rebuild). After it, the next
    /// [`commit`](Self::commit) may record any sequence number.
    pub fn clear(&self) -> Result<()> {
        let mut w = self.inner.writer.lock();
        w.writer
            .delete_all_documents()
            .map_err(|e| Error::engine("clearing the index", e))?;
        w.staged.clear();
        w.cleared = true;
        w.pending += 1;
        Ok(())
    }

    /// Makes every staged write durable and visible, recording `seq` as the last applied change
    /// sequence number. Costs one segment flush and fsync (see the type's docs); returns after
    /// the reader has been reloaded, so searches from here on see the writes.
    ///
    /// Committing again with nothing staged and the same `seq` is free (no fsync).
    ///
    /// If the commit fails, the staged writes are discarded (the index stays at its previous
    /// commit) and the error is returned: re-apply from [`last_applied_seq`](Self::last_applied_seq).
    pub fn commit(&self, seq: u64) -> Result<()> {
        let mut w = self.inner.writer.lock();
        let last = *self.inner.last_seq.read();
        if w.pending == 0 && !w.cleared && !w.reader_stale && last == Some(seq) {
            return Ok(()); // nothing new: skip the fsync
        }
        if let Some(last) = last
            && !w.cleared
            && seq < last
        {
            return Err(Error::SeqRegression { last, given: seq });
        }
        let result = w.writer.prepare_commit().and_then(|mut prepared| {
            prepared.set_payload(&encode_payload(Some(seq)));
            prepared.commit()
        });
        w.staged.clear();
        w.pending = 0;
        w.cleared = false;
        if let Err(e) = result {
            // Leave the writer usable: drop what was staged, back to the last commit.
            let _ = w.writer.rollback();
            return Err(Error::engine("committing", e));
        }
        *self.inner.last_seq.write() = Some(seq);
        w.reader_stale = true;
        self.refresh_if_stale(&mut w)
    }

    /// Discards every write staged since the last commit.
    pub fn rollback(&self) -> Result<()> {
        let mut w = self.inner.writer.lock();
        w.staged.clear();
        w.pending = 0;
        w.cleared = false;
        w.writer
            .rollback()
            .map_err(|e| Error::engine("rolling back", e))?;
        Ok(())
    }

    /// Number of write operations staged since the last commit.
    pub fn pending_ops(&self) -> usize {
        self.inner.writer.lock().pending
    }

    /// The change sequence number recorded by the last commit (`None` if never committed with
    /// one, e.g. a fresh index).
    pub fn last_applied_seq(&self) -> Option<u64> {
        *self.inner.last_seq.read()
    }

    // ----- reads ----------------------------------------------------------------------------

    /// Number of live documents as of the last commit.
    pub fn len(&self) -> u64 {
        self.inner.reader.searcher().num_docs()
    }

    /// Whether the last commit holds no live document.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether document `id` is live as of the last commit.
    pub fn contains(&self, id: u64) -> Result<bool> {
        let searcher = self.inner.reader.searcher();
        self.committed_contains(&searcher, id)
    }

    /// The stored fields of document `id` as of the last commit (`None` if it is not live).
    /// Fields declared without `stored(true)` are absent from the result.
    pub fn get(&self, id: u64) -> Result<Option<TextDocument>> {
        let searcher = self.inner.reader.searcher();
        let query = TermQuery::new(self.id_term(id), IndexRecordOption::Basic);
        let hits = searcher
            .search(
                &query,
                &tantivy::collector::TopDocs::with_limit(1).order_by_score(),
            )
            .map_err(|e| Error::engine("looking up a document", e))?;
        let Some((_, address)) = hits.first() else {
            return Ok(None);
        };
        let stored: TantivyDocument = searcher
            .doc(*address)
            .map_err(|e| Error::engine("reading a stored document", e))?;
        let mut doc = TextDocument::new(id);
        for slot in self.inner.fields.iter().filter(|s| s.stored) {
            for value in stored.get_all(slot.field) {
                if let Some(text) = value.as_str() {
                    doc.push(slot.name.clone(), text);
                }
            }
        }
        Ok(Some(doc))
    }

    // ----- internals ------------------------------------------------------------------------

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    pub(crate) fn id_term(&self, id: u64) -> Term {
        Term::from_field_u64(self.inner.id_field, id)
    }

    fn to_tantivy(&self, doc: &TextDocument) -> Result<TantivyDocument> {
        let mut out = TantivyDocument::new();
        out.add_u64(self.inner.id_field, doc.id());
        for (name, text) in doc.fields() {
            let slot = self
                .inner
                .fields
                .iter()
                .find(|s| &s.name == name)
                .ok_or_else(|| Error::UnknownField {
                    name: name.clone(),
                    hint: format!(
                        " (the schema has {:?})",
                        self.inner
                            .fields
                            .iter()
                            .map(|s| s.name.as_str())
                            .collect::<Vec<_>>()
                    ),
                })?;
            out.add_text(slot.field, text);
        }
        Ok(out)
    }

    fn is_live(&self, w: &WriterState, searcher: &Searcher, id: u64) -> Result<bool> {
        if let Some(&live) = w.staged.get(&id) {
            return Ok(live);
        }
        if w.cleared {
            return Ok(false);
        }
        self.committed_contains(searcher, id)
    }

    fn committed_contains(&self, searcher: &Searcher, id: u64) -> Result<bool> {
        if searcher.num_docs() == 0 {
            return Ok(false); // the bulk-load case: skip the look-up
        }
        let query = TermQuery::new(self.id_term(id), IndexRecordOption::Basic);
        let n = searcher
            .search(&query, &Count)
            .map_err(|e| Error::engine("looking up a document id", e))?;
        Ok(n > 0)
    }

    fn refresh_if_stale(&self, w: &mut WriterState) -> Result<()> {
        if w.reader_stale {
            self.inner
                .reader
                .reload()
                .map_err(|e| Error::engine("reloading the reader", e))?;
            w.reader_stale = false;
        }
        Ok(())
    }
}

impl Inner {
    pub(crate) fn reader(&self) -> &IndexReader {
        &self.reader
    }

    pub(crate) fn id_field_name(&self) -> &'static str {
        ID_FIELD
    }

    pub(crate) fn id_field(&self) -> Field {
        self.id_field
    }

    /// The indexed fields named (all indexed fields when `names` is empty), with analyzers.
    pub(crate) fn search_fields(&self, names: &[&str]) -> Result<Vec<(Field, TextAnalyzer)>> {
        if names.is_empty() {
            return Ok(self
                .fields
                .iter()
                .filter(|s| s.indexed)
                .map(|s| (s.field, s.analyzer.clone()))
                .collect());
        }
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let slot = self.fields.iter().find(|s| s.name == *name);
            match slot {
                Some(s) if s.indexed => {
                    if !out.iter().any(|(f, _)| *f == s.field) {
                        out.push((s.field, s.analyzer.clone()));
                    }
                }
                Some(_) => {
                    return Err(Error::UnknownField {
                        name: (*name).to_string(),
                        hint: ": the field is stored but not indexed".into(),
                    });
                }
                None => {
                    return Err(Error::UnknownField {
                        name: (*name).to_string(),
                        hint: String::new(),
                    });
                }
            }
        }
        Ok(out)
    }
}

fn lock_error(e: tantivy::TantivyError, path: Option<&Path>) -> Error {
    match e {
        tantivy::TantivyError::LockFailure(..) => Error::Locked {
            path: path.map(Path::to_path_buf).unwrap_or_default(),
        },
        other => Error::engine("opening the writer", other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Analyzer;

    #[test]
    fn payload_round_trip() {
        assert_eq!(decode_payload(Some(&encode_payload(None))), Ok(None));
        assert_eq!(
            decode_payload(Some(&encode_payload(Some(u64::MAX)))),
            Ok(Some(u64::MAX))
        );
        assert!(decode_payload(None).is_err());
        assert!(decode_payload(Some("hello")).is_err());
        assert!(decode_payload(Some("toondb-text/1;seq=x")).is_err());
        assert!(decode_payload(Some("toondb-text/2;seq=1")).is_err());
    }

    #[test]
    fn builder_rejects_bad_options() {
        let schema = TextSchema::single("b", Analyzer::Plain).unwrap();
        for b in [
            TextIndex::builder().writer_threads(0),
            TextIndex::builder().writer_threads(9),
            TextIndex::builder().writer_memory_per_thread(1),
        ] {
            assert!(matches!(
                b.in_memory(schema.clone()),
                Err(Error::InvalidOption { .. })
            ));
        }
    }
}
