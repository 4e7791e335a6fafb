//! Tenant namespaces.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::collection::layout::{self, CollectionKeys, NamespaceRecord};
use crate::collection::{CollState, Collection, CollectionConfig};
use crate::storage::Keyspace;
use crate::{Database, Error, Result};

/// How many deletions one cleanup transaction carries.
const DELETE_BATCH: usize = 10_000;

/// What a namespace is: its name, display name and labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceInfo {
    /// The namespace's name (1–48 bytes of `[A-Za-z0-9_-]`).
    pub name: String,
    /// A human-readable name.
    pub display_name: String,
    /// Free-form labels.
    pub labels: BTreeMap<String, String>,
}

/// A tenant: a namespace holding collections. Its data lives in a keyspace of its own
/// (`ns.<name>`) that no API of another namespace can reach. A cheap handle.
#[derive(Clone)]
pub struct Namespace {
    db: Database,
    info: Arc<NamespaceInfo>,
    ks: Keyspace,
}

impl std::fmt::Debug for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Namespace").field(&self.info.name).finish()
    }
}

impl Database {
    fn registry(&self) -> Result<Keyspace> {
        Ok(self.storage().keyspace(layout::REGISTRY_KEYSPACE)?)
    }

    fn record(&self, name: &str) -> Result<Option<NamespaceRecord>> {
        let Some(bytes) = self.storage().get_in(&self.registry()?, name.as_bytes())? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Internal(format!("namespace record {name:?} is damaged: {e}")))
    }

    /// Creates a namespace; fails with [`Error::NamespaceExists`] if it exists.
    pub fn create_namespace(
        &self,
        name: &str,
        display_name: &str,
        labels: BTreeMap<String, String>,
    ) -> Result<Namespace> {
        layout::check_name("namespace", name)?;
        let registry = self.registry()?;
        let record = NamespaceRecord {
            name: name.to_string(),
            display_name: display_name.to_string(),
            labels,
            deleting: false,
        };
        let bytes = serde_json::to_vec(&record).map_err(|e| Error::Internal(e.to_string()))?;
        let mut txn = self.storage().begin_transaction()?;
        if txn.get(&registry, name.as_bytes())?.is_some() {
            return Err(Error::NamespaceExists {
                name: name.to_string(),
            });
        }
        txn.put(&registry, name.as_bytes(), &bytes)?;
        txn.commit()?;
        self.namespace(name)
    }

    /// Opens an existing namespace.
    pub fn namespace(&self, name: &str) -> Result<Namespace> {
        layout::check_name("namespace", name)?;
        match self.record(name)? {
            Some(r) if !r.deleting => Ok(Namespace {
                db: self.clone(),
                ks: self.storage().keyspace(&layout::namespace_keyspace(name))?,
                info: Arc::new(NamespaceInfo {
                    name: r.name,
                    display_name: r.display_name,
                    labels: r.labels,
                }),
            }),
            _ => Err(Error::NamespaceNotFound {
                name: name.to_string(),
            }),
        }
    }

    /// Every namespace, by name.
    pub fn list_namespaces(&self) -> Result<Vec<NamespaceInfo>> {
        let registry = self.registry()?;
        let txn = self.storage().begin_transaction()?;
        let mut out = Vec::new();
        for pair in txn.scan_prefix(&registry, b"")? {
            let (_, v) = pair?;
            let r: NamespaceRecord = serde_json::from_slice(&v)
                .map_err(|e| Error::Internal(format!("a namespace record is damaged: {e}")))?;
            if !r.deleting {
                out.push(NamespaceInfo {
                    name: r.name,
                    display_name: r.display_name,
                    labels: r.labels,
                });
            }
        }
        Ok(out)
    }

    /// Deletes a namespace and everything in it. Crash-safe: the namespace is first
    /// marked as being deleted (it disappears at once); a deletion interrupted by a
    /// crash is finished when the database is next opened.
    pub fn delete_namespace(&self, name: &str) -> Result<()> {
        layout::check_name("namespace", name)?;
        let registry = self.registry()?;
        let mut txn = self.storage().begin_transaction()?;
        let Some(bytes) = txn.get(&registry, name.as_bytes())? else {
            return Err(Error::NamespaceNotFound {
                name: name.to_string(),
            });
        };
        let mut record: NamespaceRecord = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Internal(format!("namespace record is damaged: {e}")))?;
        record.deleting = true;
        let bytes = serde_json::to_vec(&record).map_err(|e| Error::Internal(e.to_string()))?;
        txn.put(&registry, name.as_bytes(), &bytes)?;
        txn.commit()?;
        self.finish_namespace_deletion(name)
    }

    /// Removes a namespace marked as deleting: its open collections, index files,
    /// every key of its keyspace, then its registry record.
    pub(crate) fn finish_namespace_deletion(&self, name: &str) -> Result<()> {
        self.shared().forget_namespace(name);
        let dir = self.path().join("indexes").join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        let ks = self.storage().keyspace(&layout::namespace_keyspace(name))?;
        delete_prefix(self, &ks, b"")?;
        self.storage()
            .delete_in(&self.registry()?, name.as_bytes())?;
        Ok(())
    }

    /// Finishes deletions a crash interrupted (run at open).
    pub(crate) fn resume_deletions(&self) -> Result<()> {
        let registry = self.registry()?;
        let pending: Vec<String> = {
            let txn = self.storage().begin_transaction()?;
            let mut names = Vec::new();
            for pair in txn.scan_prefix(&registry, b"")? {
                let (k, v) = pair?;
                if serde_json::from_slice::<NamespaceRecord>(&v).is_ok_and(|r| r.deleting) {
                    names.push(String::from_utf8_lossy(&k).into_owned());
                }
            }
            names
        };
        for name in pending {
            self.finish_namespace_deletion(&name)?;
        }
        Ok(())
    }
}

/// Deletes every key of `ks` starting with `prefix`, in bounded transactions.
fn delete_prefix(db: &Database, ks: &Keyspace, prefix: &[u8]) -> Result<()> {
    loop {
        let mut txn = db.storage().begin_transaction()?;
        let keys: Vec<Vec<u8>> = txn
            .scan_prefix(ks, prefix)?
            .take(DELETE_BATCH)
            .map(|r| r.map(|(k, _)| k))
            .collect::<std::result::Result<_, _>>()?;
        if keys.is_empty() {
            return Ok(());
        }
        for k in &keys {
            txn.delete(ks, k)?;
        }
        txn.commit()?;
    }
}

impl Namespace {
    /// The namespace's name, display name and labels.
    pub fn info(&self) -> &NamespaceInfo {
        &self.info
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.info.name
    }

    fn stored_config(&self, name: &str) -> Result<Option<CollectionConfig>> {
        let keys = CollectionKeys::new(name);
        let Some(bytes) = self.db.storage().get_in(&self.ks, &keys.config())? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Internal(format!("collection config {name:?} is damaged: {e}")))
    }

    /// Creates a collection. Its configuration is stored and immutable: creating it again
    /// with the same configuration returns the existing collection; with a different one
    /// it fails with [`Error::CollectionConfigMismatch`].
    pub fn create_collection(&self, config: CollectionConfig) -> Result<Collection> {
        config.validate()?;
        if let Some(existing) = self.stored_config(&config.name)? {
            if existing == config {
                return self.get_collection(&config.name);
            }
            return Err(Error::CollectionConfigMismatch {
                collection: config.name,
                existing: serde_json::to_string(&existing).unwrap_or_default(),
            });
        }
        let keys = CollectionKeys::new(&config.name);
        // Leftovers of a drop that a crash interrupted must not resurface.
        delete_prefix(&self.db, &self.ks, keys.all())?;
        let dir = layout::index_dir(self.db.path(), self.name(), &config.name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        let bytes = serde_json::to_vec(&config).map_err(|e| Error::Internal(e.to_string()))?;
        let mut txn = self.db.storage().begin_transaction()?;
        if txn.get(&self.ks, &keys.config())?.is_some() {
            drop(txn);
            return self.create_collection(config);
        }
        txn.put(&self.ks, &keys.config(), &bytes)?;
        txn.commit()?;
        self.get_collection(&config.name)
    }

    /// Opens a collection (its indexes are loaded, or caught up, on first use).
    pub fn get_collection(&self, name: &str) -> Result<Collection> {
        layout::check_name("collection", name)?;
        let shared = self.db.shared();
        let key = (self.name().to_string(), name.to_string());
        let mut open = shared.collections.lock();
        if let Some(state) = open.get(&key) {
            return Ok(Collection {
                state: state.clone(),
            });
        }
        let Some(config) = self.stored_config(name)? else {
            return Err(Error::CollectionNotFound {
                namespace: self.name().to_string(),
                collection: name.to_string(),
            });
        };
        let state = Arc::new(CollState::open(
            self.db.storage().clone(),
            self.name(),
            self.ks.clone(),
            config,
        )?);
        open.insert(key, state.clone());
        Ok(Collection { state })
    }

    /// The configurations of every collection, by name.
    pub fn list_collections(&self) -> Result<Vec<CollectionConfig>> {
        let txn = self.db.storage().begin_transaction()?;
        let mut out = Vec::new();
        for pair in txn.scan_prefix(&self.ks, b"c/")? {
            let (k, v) = pair?;
            if k.ends_with(b"/cfg") && k.iter().filter(|b| **b == b'/').count() == 2 {
                out.push(serde_json::from_slice(&v).map_err(|e| {
                    Error::Internal(format!("a collection config is damaged: {e}"))
                })?);
            }
        }
        Ok(out)
    }

    /// Drops a collection and its documents and index files; returns whether it existed.
    pub fn drop_collection(&self, name: &str) -> Result<bool> {
        layout::check_name("collection", name)?;
        let keys = CollectionKeys::new(name);
        if self.stored_config(name)?.is_none() {
            return Ok(false);
        }
        // The config goes first, in its own commit: from then on the collection is gone;
        // a crash leaves only unreachable keys, which the next create removes.
        self.db.storage().delete_in(&self.ks, &keys.config())?;
        if let Some(state) = self
            .db
            .shared()
            .collections
            .lock()
            .remove(&(self.name().to_string(), name.to_string()))
        {
            state.dropped.store(true, Ordering::Release);
        }
        delete_prefix(&self.db, &self.ks, keys.all())?;
        let dir = layout::index_dir(self.db.path(), self.name(), name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        Ok(true)
    }
}
