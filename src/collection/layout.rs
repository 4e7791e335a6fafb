//! The one place that knows how namespaces and collections are laid out in storage
//! and on disk (see `ARCHITECTURE.md`, "Namespaces and collections").

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Keyspace of the namespace registry: namespace name → JSON [`NamespaceRecord`].
pub(crate) const REGISTRY_KEYSPACE: &str = "toondb.namespaces";

/// The keyspace holding everything of namespace `name`.
pub(crate) fn namespace_keyspace(name: &str) -> String {
    format!("ns.{name}")
}

/// Longest namespace or collection name.
pub const MAX_NAME_LEN: usize = 48;
/// Longest document id, in bytes.
pub const MAX_DOC_ID_LEN: usize = 1024;
/// The name under which a single-vector document's vector is stored.
pub(crate) const DEFAULT_VECTOR: &str = "_default";

/// Validates a namespace, collection or vector name: 1–48 bytes of `[A-Za-z0-9_-]`,
/// not starting with `_` (reserved).
pub(crate) fn check_name(kind: &'static str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && !name.starts_with('_')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidName {
            kind,
            name: name.to_string(),
        })
    }
}

pub(crate) fn check_doc_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > MAX_DOC_ID_LEN {
        return Err(Error::InvalidDocument {
            id: id.chars().take(64).collect(),
            reason: format!("document ids are 1 to {MAX_DOC_ID_LEN} bytes"),
        });
    }
    Ok(())
}

/// A namespace as stored in the registry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct NamespaceRecord {
    pub(crate) name: String,
    pub(crate) display_name: String,
    pub(crate) labels: std::collections::BTreeMap<String, String>,
    /// Set while a deletion is in progress; such a namespace is invisible and its
    /// deletion is finished when the database is next opened.
    #[serde(default)]
    pub(crate) deleting: bool,
}

/// Keys of one collection inside its namespace keyspace. Collection names cannot
/// contain `/`, so `c/<name>/` prefixes never overlap.
pub(crate) struct CollectionKeys {
    prefix: Vec<u8>,
}

impl CollectionKeys {
    pub(crate) fn new(collection: &str) -> Self {
        CollectionKeys {
            prefix: format!("c/{collection}/").into_bytes(),
        }
    }

    fn key(&self, parts: &[&[u8]]) -> Vec<u8> {
        let mut k = self.prefix.clone();
        for p in parts {
            k.extend_from_slice(p);
        }
        k
    }

    /// Every key of the collection.
    pub(crate) fn all(&self) -> &[u8] {
        &self.prefix
    }
    /// JSON [`CollectionConfig`](crate::CollectionConfig) plus state.
    pub(crate) fn config(&self) -> Vec<u8> {
        self.key(&[b"cfg"])
    }
    /// u64 BE: the last change sequence number of the collection.
    pub(crate) fn seq(&self) -> Vec<u8> {
        self.key(&[b"seq"])
    }
    /// u64 BE: the next internal id to hand out.
    pub(crate) fn next_id(&self) -> Vec<u8> {
        self.key(&[b"next"])
    }
    /// u64 BE: log entries up to this sequence number have been pruned.
    pub(crate) fn pruned(&self) -> Vec<u8> {
        self.key(&[b"pruned"])
    }
    /// Document id (UTF-8) → u64 BE internal id.
    pub(crate) fn id_map(&self, doc_id: &str) -> Vec<u8> {
        self.key(&[b"id/", doc_id.as_bytes()])
    }
    /// Internal id → bincode [`StoredDoc`].
    pub(crate) fn doc(&self, iid: u64) -> Vec<u8> {
        self.key(&[b"d/", &iid.to_be_bytes()])
    }
    pub(crate) fn docs(&self) -> Vec<u8> {
        self.key(&[b"d/"])
    }
    /// Change sequence number → u64 BE internal id of the changed document.
    pub(crate) fn log(&self, seq: u64) -> Vec<u8> {
        self.key(&[b"log/", &seq.to_be_bytes()])
    }
}

/// A document as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct StoredDoc {
    pub(crate) id: String,
    /// Named vectors; a single-vector document has one named [`DEFAULT_VECTOR`].
    pub(crate) vectors: Vec<(String, Vec<f32>)>,
    /// The metadata as JSON text (bincode cannot carry `serde_json::Value` itself).
    pub(crate) metadata: String,
    pub(crate) content: Option<String>,
}

fn bincode_config() -> bincode::config::Configuration {
    bincode::config::standard()
}

impl StoredDoc {
    pub(crate) fn encode(&self) -> Result<Vec<u8>> {
        bincode::serde::encode_to_vec(self, bincode_config())
            .map_err(|e| Error::Internal(format!("encoding a document: {e}")))
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<StoredDoc> {
        bincode::serde::decode_from_slice(bytes, bincode_config())
            .map(|(d, _)| d)
            .map_err(|e| Error::Internal(format!("a stored document is damaged: {e}")))
    }
}

pub(crate) fn u64_value(bytes: Option<Vec<u8>>) -> Result<u64> {
    match bytes {
        None => Ok(0),
        Some(b) => b
            .try_into()
            .map(u64::from_be_bytes)
            .map_err(|_| Error::Internal("a stored counter is damaged".into())),
    }
}

/// Derived index files of a collection live in `<db>/indexes/<namespace>/<collection>/`.
pub(crate) fn index_dir(db_dir: &std::path::Path, ns: &str, coll: &str) -> std::path::PathBuf {
    db_dir.join("indexes").join(ns).join(coll)
}
