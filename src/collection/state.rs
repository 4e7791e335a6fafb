//! A collection's live state: its storage keys and its derived indexes.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock, RwLockReadGuard};
use serde_json::Value;

use super::filter::{FieldCounts, Filter};
use super::layout::{self, CollectionKeys, DEFAULT_VECTOR, StoredDoc, u64_value};
use super::{CollectionConfig, Document, StoredDocument};
use crate::storage::{self, Keyspace};
use crate::text::{TextDocument, TextField, TextIndex, TextSchema};
use crate::vector::{DistanceMetric, VectorIndex};
use crate::{Error, Result};

/// The text field every collection's tantivy index has.
const TEXT_FIELD: &str = "content";

pub(crate) struct CollState {
    pub(crate) namespace: String,
    pub(crate) config: CollectionConfig,
    pub(crate) storage: storage::Database,
    pub(crate) ks: Keyspace,
    pub(crate) keys: CollectionKeys,
    dir: PathBuf,
    /// Serializes writes, so indexes apply changes in sequence order.
    writer: Mutex<()>,
    pub(crate) indexes: RwLock<Indexes>,
    /// The last change sequence number applied to the in-memory indexes.
    applied: AtomicU64,
    /// An index update failed after its commit: rebuild before the next search.
    stale: AtomicBool,
    /// Set when the collection was dropped: every operation fails.
    pub(crate) dropped: AtomicBool,
}

pub(crate) struct Indexes {
    pub(crate) vectors: HashMap<String, Arc<VectorIndex>>,
    pub(crate) text: Option<TextIndex>,
    /// Internal id → (document id, metadata): what filters and results need, in memory.
    pub(crate) docs: HashMap<u64, (String, Value)>,
    pub(crate) fields: FieldCounts,
}

impl CollState {
    /// Opens the collection's indexes and brings them up to date with storage.
    pub(crate) fn open(
        storage: storage::Database,
        namespace: &str,
        ks: Keyspace,
        config: CollectionConfig,
    ) -> Result<CollState> {
        let dir = layout::index_dir(storage.path(), namespace, &config.name);
        std::fs::create_dir_all(&dir)?;
        let keys = CollectionKeys::new(&config.name);
        let state = CollState {
            namespace: namespace.to_string(),
            keys,
            dir,
            storage,
            ks,
            writer: Mutex::new(()),
            indexes: RwLock::new(Indexes {
                vectors: HashMap::new(),
                text: None,
                docs: HashMap::new(),
                fields: FieldCounts::default(),
            }),
            applied: AtomicU64::new(0),
            stale: AtomicBool::new(false),
            dropped: AtomicBool::new(false),
            config,
        };
        state.load()?;
        Ok(state)
    }

    fn check_live(&self) -> Result<()> {
        if self.dropped.load(Ordering::Acquire) {
            return Err(Error::CollectionNotFound {
                namespace: self.namespace.clone(),
                collection: self.config.name.clone(),
            });
        }
        Ok(())
    }

    /// Loads saved indexes and catches up from storage, or rebuilds what cannot be
    /// caught up.
    fn load(&self) -> Result<()> {
        let _w = self.writer.lock();
        let txn = self.storage.begin_transaction()?;
        let seq = u64_value(txn.get(&self.ks, &self.keys.seq())?)?;
        let pruned = u64_value(txn.get(&self.ks, &self.keys.pruned())?)?;
        // Every document, for the metadata map and for any rebuild.
        let mut all: Vec<(u64, StoredDoc)> = Vec::new();
        for pair in txn.scan_prefix(&self.ks, &self.keys.docs())? {
            let (k, v) = pair?;
            let iid = iid_of_doc_key(&k)?;
            all.push((iid, StoredDoc::decode(&v)?));
        }
        let mut ix = self.indexes.write();
        ix.docs.clear();
        ix.fields = FieldCounts::default();
        for (iid, d) in &all {
            let meta = parse_metadata(&d.metadata)?;
            ix.fields.add(&meta);
            ix.docs.insert(*iid, (d.id.clone(), meta));
        }
        // Vector indexes: one per name found in the documents.
        let mut names: HashSet<&str> = HashSet::new();
        for (_, d) in &all {
            names.extend(d.vectors.iter().map(|(n, _)| n.as_str()));
        }
        ix.vectors.clear();
        for name in names {
            let index = match self.load_vector_index(name, seq, pruned, &txn)? {
                Some(index) => index,
                None => self.build_vector_index(name, &all)?,
            };
            ix.vectors.insert(name.to_string(), Arc::new(index));
        }
        // The text index.
        ix.text = None;
        if self.config.enable_hybrid_search {
            ix.text = Some(self.load_text_index(seq, pruned, &txn, &all)?);
        }
        drop(ix);
        self.applied.store(seq, Ordering::Release);
        self.stale.store(false, Ordering::Release);
        Ok(())
    }

    fn vector_paths(&self, name: &str) -> (PathBuf, PathBuf) {
        (
            self.dir.join(format!("vec-{name}.hnsw")),
            self.dir.join(format!("vec-{name}.seq")),
        )
    }

    /// The saved index of vector `name`, caught up to `seq`; `None` when it must be rebuilt.
    fn load_vector_index(
        &self,
        name: &str,
        seq: u64,
        pruned: u64,
        txn: &storage::Transaction,
    ) -> Result<Option<VectorIndex>> {
        let (file, seq_file) = self.vector_paths(name);
        let Some(saved) = read_seq_file(&seq_file) else {
            return Ok(None);
        };
        if saved > seq || saved < pruned {
            return Ok(None);
        }
        let Ok(index) = VectorIndex::load(&file) else {
            return Ok(None);
        };
        if index.dimension() != self.config.dimension || index.metric() != self.config.metric {
            return Ok(None);
        }
        for iid in self.changed_since(txn, saved)? {
            let doc = self.read_doc(txn, iid)?;
            match doc.as_ref().and_then(|d| vector_of(d, name)) {
                Some(v) => index.insert(iid, v)?,
                None if index.contains(iid) => index.delete(iid)?,
                None => {}
            }
        }
        Ok(Some(index))
    }

    fn build_vector_index(&self, name: &str, all: &[(u64, StoredDoc)]) -> Result<VectorIndex> {
        let index = VectorIndex::new(self.config.dimension, self.config.metric, self.config.hnsw)?;
        let mut ids = Vec::new();
        let mut flat = Vec::new();
        for (iid, d) in all {
            if let Some(v) = vector_of(d, name) {
                ids.push(*iid);
                flat.extend_from_slice(v);
            }
        }
        if !ids.is_empty() {
            index.insert_batch(&ids, &flat)?;
        }
        Ok(index)
    }

    fn load_text_index(
        &self,
        seq: u64,
        pruned: u64,
        txn: &storage::Transaction,
        all: &[(u64, StoredDoc)],
    ) -> Result<TextIndex> {
        let path = self.dir.join("text");
        let schema = TextSchema::builder()
            .field(TextField::new(TEXT_FIELD))
            .build()?;
        if let Ok(index) = TextIndex::open(&path) {
            let saved = index.last_applied_seq().unwrap_or(0);
            if saved <= seq && saved >= pruned {
                for iid in self.changed_since(txn, saved)? {
                    let doc = self.read_doc(txn, iid)?;
                    match doc.as_ref().and_then(|d| self.text_of(d)) {
                        Some(text) => {
                            index.upsert(TextDocument::new(iid).with(TEXT_FIELD, text))?
                        }
                        None => {
                            index.delete(iid)?;
                        }
                    }
                }
                index.commit(seq)?;
                return Ok(index);
            }
        }
        // Missing, damaged, foreign or too old: rebuild from the documents.
        if path.exists() {
            std::fs::remove_dir_all(&path)?;
        }
        let index = TextIndex::create(&path, schema)?;
        for (iid, d) in all {
            if let Some(text) = self.text_of(d) {
                index.add(TextDocument::new(*iid).with(TEXT_FIELD, text))?;
            }
        }
        index.commit(seq)?;
        Ok(index)
    }

    /// Internal ids changed by log entries after `since`.
    fn changed_since(&self, txn: &storage::Transaction, since: u64) -> Result<Vec<u64>> {
        let start = self.keys.log(since.saturating_add(1));
        let end = self.keys.log(u64::MAX);
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for pair in txn.scan(&self.ks, &start, &end)? {
            let (_, v) = pair?;
            let iid = u64_value(Some(v))?;
            if seen.insert(iid) {
                out.push(iid);
            }
        }
        Ok(out)
    }

    fn read_doc(&self, txn: &storage::Transaction, iid: u64) -> Result<Option<StoredDoc>> {
        txn.get(&self.ks, &self.keys.doc(iid))?
            .map(|b| StoredDoc::decode(&b))
            .transpose()
    }

    /// The text BM25 indexes for a document: its content, else its content field.
    fn text_of(&self, d: &StoredDoc) -> Option<String> {
        if let Some(c) = &d.content {
            return Some(c.clone());
        }
        let field = self.config.content_field.as_deref()?;
        let meta: Value = serde_json::from_str(&d.metadata).ok()?;
        match super::filter::lookup(&meta, field)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// Saves every index with the sequence number it includes, then prunes the change
    /// log up to that number.
    pub(crate) fn save(&self) -> Result<()> {
        if self.dropped.load(Ordering::Acquire) {
            return Ok(());
        }
        let _w = self.writer.lock();
        let seq = self.applied.load(Ordering::Acquire);
        if self.stale.load(Ordering::Acquire) {
            return Ok(()); // the next open rebuilds from storage
        }
        let ix = self.indexes.read();
        for (name, index) in &ix.vectors {
            let (file, seq_file) = self.vector_paths(name);
            index.save(&file)?;
            write_seq_file(&seq_file, seq)?;
        }
        if let Some(text) = &ix.text {
            text.commit(seq)?;
        }
        drop(ix);
        // The log up to `seq` is no longer needed by any saved index.
        let mut txn = self.storage.begin_transaction()?;
        let start = self.keys.log(0);
        let end = self.keys.log(seq.saturating_add(1));
        let old: Vec<Vec<u8>> = txn
            .scan(&self.ks, &start, &end)?
            .map(|r| r.map(|(k, _)| k))
            .collect::<std::result::Result<_, _>>()?;
        if !old.is_empty() {
            for k in &old {
                txn.delete(&self.ks, k)?;
            }
            txn.put(&self.ks, &self.keys.pruned(), &seq.to_be_bytes())?;
            txn.commit()?;
        }
        Ok(())
    }

    fn validate(&self, doc: &Document) -> Result<()> {
        layout::check_doc_id(&doc.id)?;
        let invalid = |reason: String| Error::InvalidDocument {
            id: doc.id.clone(),
            reason,
        };
        if doc.vectors.is_empty() {
            return Err(invalid("a document needs at least one vector".into()));
        }
        for (name, v) in &doc.vectors {
            if name != DEFAULT_VECTOR {
                layout::check_name("vector", name)?;
            }
            if v.len() != self.config.dimension {
                return Err(Error::DimensionMismatch {
                    expected: self.config.dimension,
                    got: v.len(),
                });
            }
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return Err(invalid(format!(
                    "vector {name:?} component {i} is not finite"
                )));
            }
            if self.config.metric == DistanceMetric::Cosine && v.iter().all(|x| *x == 0.0) {
                return Err(invalid(format!(
                    "vector {name:?} is all zeros, which has no cosine direction"
                )));
            }
        }
        if !(doc.metadata.is_object() || doc.metadata.is_null()) {
            return Err(invalid("metadata must be a JSON object (or null)".into()));
        }
        Ok(())
    }

    /// Inserts (or, with `upsert`, replaces) documents: one storage transaction, then
    /// the indexes.
    pub(crate) fn write(&self, docs: Vec<Document>, upsert: bool) -> Result<()> {
        self.check_live()?;
        let mut seen = HashSet::new();
        for d in &docs {
            self.validate(d)?;
            if !seen.insert(d.id.as_str()) {
                return Err(Error::DuplicateDocument {
                    id: d.id.clone(),
                    reason: "the id appears twice in the batch",
                });
            }
        }
        if docs.is_empty() {
            return Ok(());
        }
        let _w = self.writer.lock();
        self.check_live()?;
        let mut txn = self.storage.begin_transaction()?;
        let mut seq = u64_value(txn.get(&self.ks, &self.keys.seq())?)?;
        let mut next = u64_value(txn.get(&self.ks, &self.keys.next_id())?)?;
        let mut changes = Vec::with_capacity(docs.len());
        for d in docs {
            let existing = txn.get(&self.ks, &self.keys.id_map(&d.id))?;
            let (iid, old) = match existing {
                Some(b) if !upsert => {
                    let _ = b;
                    return Err(Error::DuplicateDocument {
                        id: d.id,
                        reason: "a document with this id exists (use upsert to replace it)",
                    });
                }
                Some(b) => {
                    let iid = u64_value(Some(b))?;
                    (iid, self.read_doc(&txn, iid)?)
                }
                None => {
                    next += 1;
                    (next, None)
                }
            };
            let metadata = if d.metadata.is_null() {
                Value::Object(Default::default())
            } else {
                d.metadata
            };
            let stored = StoredDoc {
                id: d.id,
                vectors: d.vectors.into_iter().collect(),
                metadata: metadata.to_string(),
                content: d.content,
            };
            txn.put(&self.ks, &self.keys.doc(iid), &stored.encode()?)?;
            txn.put(&self.ks, &self.keys.id_map(&stored.id), &iid.to_be_bytes())?;
            seq += 1;
            txn.put(&self.ks, &self.keys.log(seq), &iid.to_be_bytes())?;
            changes.push((iid, old, Some((stored, metadata))));
        }
        txn.put(&self.ks, &self.keys.seq(), &seq.to_be_bytes())?;
        txn.put(&self.ks, &self.keys.next_id(), &next.to_be_bytes())?;
        txn.commit()?;
        // Committed: from here on the write is acknowledged whatever the indexes do.
        if self.apply(changes).is_err() {
            self.stale.store(true, Ordering::Release);
        }
        self.applied.store(seq, Ordering::Release);
        Ok(())
    }

    /// Deletes a document by id.
    pub(crate) fn delete(&self, id: &str) -> Result<bool> {
        self.check_live()?;
        layout::check_doc_id(id)?;
        let _w = self.writer.lock();
        let mut txn = self.storage.begin_transaction()?;
        let Some(b) = txn.get(&self.ks, &self.keys.id_map(id))? else {
            return Ok(false);
        };
        let iid = u64_value(Some(b))?;
        let old = self.read_doc(&txn, iid)?;
        let seq = u64_value(txn.get(&self.ks, &self.keys.seq())?)? + 1;
        txn.delete(&self.ks, &self.keys.doc(iid))?;
        txn.delete(&self.ks, &self.keys.id_map(id))?;
        txn.put(&self.ks, &self.keys.log(seq), &iid.to_be_bytes())?;
        txn.put(&self.ks, &self.keys.seq(), &seq.to_be_bytes())?;
        txn.commit()?;
        if self.apply(vec![(iid, old, None)]).is_err() {
            self.stale.store(true, Ordering::Release);
        }
        self.applied.store(seq, Ordering::Release);
        Ok(true)
    }

    /// Applies committed changes to the in-memory indexes: `(iid, old, new)`.
    #[allow(clippy::type_complexity)]
    fn apply(
        &self,
        changes: Vec<(u64, Option<StoredDoc>, Option<(StoredDoc, Value)>)>,
    ) -> Result<()> {
        let mut ix = self.indexes.write();
        let mut batches: HashMap<String, (Vec<u64>, Vec<f32>)> = HashMap::new();
        let mut text_ops = Vec::new();
        for (iid, old, new) in changes {
            if let Some((_, old_meta)) = ix.docs.remove(&iid) {
                ix.fields.remove(&old_meta);
            }
            if let Some(old) = &old {
                for (name, _) in &old.vectors {
                    let still = new
                        .as_ref()
                        .is_some_and(|(d, _)| d.vectors.iter().any(|(n, _)| n == name));
                    if !still && let Some(index) = ix.vectors.get(name) {
                        index.delete(iid)?;
                    }
                }
            }
            match new {
                Some((doc, meta)) => {
                    for (name, v) in &doc.vectors {
                        let (ids, flat) = batches.entry(name.clone()).or_default();
                        ids.push(iid);
                        flat.extend_from_slice(v);
                    }
                    match self.text_of(&doc) {
                        Some(t) => text_ops.push(crate::text::TextOp::Upsert(
                            TextDocument::new(iid).with(TEXT_FIELD, t),
                        )),
                        None => text_ops.push(crate::text::TextOp::Delete(iid)),
                    }
                    ix.fields.add(&meta);
                    ix.docs.insert(iid, (doc.id, meta));
                }
                None => text_ops.push(crate::text::TextOp::Delete(iid)),
            }
        }
        for (name, (ids, flat)) in batches {
            let index = match ix.vectors.get(&name) {
                Some(index) => index.clone(),
                None => {
                    let index = Arc::new(VectorIndex::new(
                        self.config.dimension,
                        self.config.metric,
                        self.config.hnsw,
                    )?);
                    ix.vectors.insert(name, index.clone());
                    index
                }
            };
            if ids.len() == 1 {
                index.insert(ids[0], &flat)?;
            } else {
                index.insert_batch(&ids, &flat)?;
            }
        }
        if let Some(text) = &ix.text {
            text.apply(text_ops)?;
        }
        Ok(())
    }

    pub(crate) fn get(&self, id: &str) -> Result<Option<StoredDocument>> {
        self.check_live()?;
        layout::check_doc_id(id)?;
        let txn = self.storage.begin_transaction()?;
        let Some(b) = txn.get(&self.ks, &self.keys.id_map(id))? else {
            return Ok(None);
        };
        let Some(d) = self.read_doc(&txn, u64_value(Some(b))?)? else {
            return Ok(None);
        };
        Ok(Some(StoredDocument {
            id: d.id,
            vectors: d.vectors.into_iter().collect(),
            metadata: parse_metadata(&d.metadata)?,
            content: d.content,
        }))
    }

    pub(crate) fn count(&self) -> usize {
        self.indexes.read().docs.len()
    }

    /// The indexes, up to date: rebuilt first if an earlier update failed, and with
    /// staged text made searchable (read-your-writes).
    pub(crate) fn ready(&self, need_text: bool) -> Result<RwLockReadGuard<'_, Indexes>> {
        self.check_live()?;
        if self.stale.load(Ordering::Acquire) {
            self.load()?;
        }
        if need_text {
            let ix = self.indexes.read();
            if let Some(text) = &ix.text
                && text.pending_ops() > 0
            {
                let _w = self.writer.lock();
                text.commit(self.applied.load(Ordering::Acquire))?;
            }
        }
        Ok(self.indexes.read())
    }

    /// The internal ids whose metadata matches `filter`; errors on a field no document has.
    pub(crate) fn allowed(ix: &Indexes, filter: &Filter) -> Result<HashSet<u64>> {
        let mut fields = Vec::new();
        filter.fields(&mut fields);
        if let Some(f) = fields.iter().find(|f| !ix.fields.contains(f)) {
            return Err(Error::UnknownFilterField { field: f.clone() });
        }
        Ok(ix
            .docs
            .iter()
            .filter(|(_, (_, meta))| filter.matches(meta))
            .map(|(iid, _)| *iid)
            .collect())
    }

    /// Contents of documents, by internal id, read from storage in one snapshot.
    pub(crate) fn contents(&self, iids: &[u64]) -> Result<HashMap<u64, Option<String>>> {
        let txn = self.storage.begin_transaction()?;
        let mut out = HashMap::new();
        for &iid in iids {
            if let Some(d) = self.read_doc(&txn, iid)? {
                out.insert(iid, d.content);
            }
        }
        Ok(out)
    }
}

fn vector_of<'a>(d: &'a StoredDoc, name: &str) -> Option<&'a [f32]> {
    d.vectors
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_slice())
}

fn parse_metadata(text: &str) -> Result<Value> {
    serde_json::from_str(text)
        .map_err(|e| Error::Internal(format!("stored metadata is damaged: {e}")))
}

fn iid_of_doc_key(key: &[u8]) -> Result<u64> {
    key.len()
        .checked_sub(8)
        .and_then(|at| key[at..].try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| Error::Internal("a document key is damaged".into()))
}

fn read_seq_file(path: &std::path::Path) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.trim().parse().ok()
}

/// Writes the sequence number atomically (write, fsync, rename).
fn write_seq_file(path: &std::path::Path, seq: u64) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("seq.tmp");
    let mut f = std::fs::File::create(&tmp)?;
    writeln!(f, "{seq}")?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}
