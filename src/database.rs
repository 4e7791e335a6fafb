//! The façade's database handle and transactions.

use std::ops::Bound;
use std::path::Path;

use crate::storage::{self, Keyspace, Scan, ScanBatches, ScanOrder, Stats, SyncMode};
use crate::{Error, Result};

/// A ToonDB database: one directory holding everything a user stores.
///
/// `Database` is a cheap handle (`Clone + Send + Sync`). It exposes the key-value,
/// path, scan, transaction, stats and checkpoint API over the user's KV keyspace;
/// [`storage`](Database::storage) reaches the keyspace-level engine underneath.
///
/// ```
/// # fn main() -> toondb::Result<()> {
/// let dir = tempfile::tempdir()?;
/// let db = toondb::Database::open(dir.path())?;
/// db.put(b"k", b"v")?;
/// db.put_path("users/alice/email", b"alice@example.com")?;
/// assert_eq!(db.list_children("users")?, ["alice"]);
/// db.transaction(|txn| {
///     let v = txn.get(b"k")?.unwrap_or_default();
///     txn.put(b"k2", &v)?;
///     Ok(())
/// })?;
/// assert_eq!(db.get(b"k2")?.as_deref(), Some(&b"v"[..]));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Database {
    storage: storage::Database,
    shared: std::sync::Arc<Shared>,
}

/// State shared by every handle of one open database, beyond the storage engine.
#[derive(Default)]
pub(crate) struct Shared {
    /// Collections opened in this process, by (namespace, collection).
    /// The SQL engine, created on first use.
    #[cfg(feature = "sql")]
    pub(crate) sql: std::sync::OnceLock<crate::sql::SqlEngine>,
    #[cfg(feature = "collections")]
    pub(crate) collections: parking_lot::Mutex<
        std::collections::HashMap<(String, String), std::sync::Arc<crate::collection::CollState>>,
    >,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Shared")
    }
}

impl Shared {
    /// Saves every open collection's indexes.
    fn save_all(&self) -> Result<()> {
        #[cfg(feature = "collections")]
        {
            let open: Vec<_> = self.collections.lock().values().cloned().collect();
            for state in open {
                state.save()?;
            }
        }
        Ok(())
    }

    #[cfg(feature = "collections")]
    pub(crate) fn forget_namespace(&self, ns: &str) {
        self.collections.lock().retain(|(n, _), state| {
            let keep = n != ns;
            if !keep {
                state
                    .dropped
                    .store(true, std::sync::atomic::Ordering::Release);
            }
            keep
        });
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Close-time save of the derived indexes; if it fails, the next open catches
        // up from storage, which is the source of truth.
        let _ = self.save_all();
    }
}

/// Options for opening a [`Database`]; see [`Database::builder`].
#[derive(Debug, Clone, Default)]
pub struct DatabaseBuilder {
    storage: storage::DatabaseBuilder,
}

impl DatabaseBuilder {
    /// Creates the directory and database if missing (default `true`).
    pub fn create_if_missing(mut self, yes: bool) -> Self {
        self.storage = self.storage.create_if_missing(yes);
        self
    }

    /// Sets the durability mode (default [`SyncMode::Full`]); see [`SyncMode`] for what
    /// each mode guarantees.
    pub fn sync_mode(mut self, mode: SyncMode) -> Self {
        self.storage = self.storage.sync_mode(mode);
        self
    }

    /// Sets the page-cache size in bytes (the original product's `memtable_size_bytes`).
    pub fn cache_size(mut self, bytes: usize) -> Self {
        self.storage = self.storage.cache_size(bytes);
        self
    }

    /// Opens the database in `dir`.
    pub fn open(self, dir: impl AsRef<Path>) -> Result<Database> {
        let db = Database {
            storage: self.storage.open(dir)?,
            shared: Default::default(),
        };
        #[cfg(feature = "collections")]
        db.resume_deletions()?;
        Ok(db)
    }
}

impl Database {
    /// Opens (creating if missing) the database in directory `dir` with default options.
    pub fn open(dir: impl AsRef<Path>) -> Result<Database> {
        DatabaseBuilder::default().open(dir)
    }

    /// Options for opening a database.
    pub fn builder() -> DatabaseBuilder {
        DatabaseBuilder::default()
    }

    /// The storage engine underneath, for keyspace-level access.
    pub fn storage(&self) -> &storage::Database {
        &self.storage
    }

    /// The database directory.
    pub fn path(&self) -> &Path {
        self.storage.path()
    }

    /// Reads `key`.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.storage.get(key)?)
    }

    /// Writes `value` under `key` as one durable commit; returns its sequence number.
    pub fn put(&self, key: &[u8], value: &[u8]) -> Result<u64> {
        Ok(self.storage.put(key, value)?)
    }

    /// Deletes `key` (a missing key is not an error); returns the commit's sequence number.
    pub fn delete(&self, key: &[u8]) -> Result<u64> {
        Ok(self.storage.delete(key)?)
    }

    /// Writes `value` at a path such as `users/alice/email`.
    pub fn put_path(&self, path: &str, value: &[u8]) -> Result<u64> {
        Ok(self.storage.put_path(path, value)?)
    }

    /// Reads the value at `path`.
    pub fn get_path(&self, path: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.storage.get_path(path)?)
    }

    /// Deletes the value at `path` (its children stay).
    pub fn delete_path(&self, path: &str) -> Result<u64> {
        Ok(self.storage.delete_path(path)?)
    }

    /// The sorted names of the direct children of `path` (`""` for the root).
    pub fn list_children(&self, path: &str) -> Result<Vec<String>> {
        Ok(self.storage.list_children(path)?)
    }

    /// Scans `[start, end)` in key order on one snapshot.
    pub fn scan(&self, start: &[u8], end: &[u8]) -> Result<Scan> {
        Ok(self.storage.scan(start, end)?)
    }

    /// Scans every key starting with `prefix`, in key order.
    pub fn scan_prefix(&self, prefix: &[u8]) -> Result<Scan> {
        Ok(self.storage.scan_prefix(prefix)?)
    }

    /// Scans `[start, end)` in descending key order.
    pub fn scan_reverse(&self, start: &[u8], end: &[u8]) -> Result<Scan> {
        Ok(self.storage.scan_reverse(start, end)?)
    }

    /// Scans `[start, end)` in `Vec`s of at most `batch_size` pairs.
    pub fn scan_batched(&self, start: &[u8], end: &[u8], batch_size: usize) -> Result<ScanBatches> {
        Ok(self.storage.scan_batched(start, end, batch_size)?)
    }

    /// Begins a snapshot-isolation transaction over the KV data.
    pub fn begin_transaction(&self) -> Result<Transaction> {
        Ok(Transaction {
            inner: self.storage.begin_transaction()?,
            kv: self.storage.kv_keyspace(),
            #[cfg(feature = "sql")]
            db: self.clone(),
        })
    }

    /// Runs `f` in a transaction that commits if `f` returns `Ok` and aborts if it
    /// returns `Err`; returns `f`'s value.
    pub fn transaction<T>(&self, f: impl FnOnce(&mut Transaction) -> Result<T>) -> Result<T> {
        let mut txn = self.begin_transaction()?;
        let value = f(&mut txn)?;
        txn.commit()?;
        Ok(value)
    }

    /// Like [`transaction`](Self::transaction), retrying on a conflict up to
    /// `max_attempts` times in all; returns the value and the attempts made.
    pub fn transaction_with_retry<T>(
        &self,
        max_attempts: usize,
        mut f: impl FnMut(&mut Transaction) -> Result<T>,
    ) -> Result<(T, usize)> {
        if max_attempts == 0 {
            return Err(
                storage::Error::InvalidArgument("max_attempts must be at least 1".into()).into(),
            );
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut txn = self.begin_transaction()?;
            let value = f(&mut txn)?;
            match txn.commit() {
                Ok(_) => return Ok((value, attempt)),
                Err(e) if e.is_retryable() && attempt < max_attempts => {
                    std::thread::sleep(std::time::Duration::from_micros(50 * attempt as u64));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Counters and sizes; see [`Stats`] for exactly what each field counts.
    pub fn stats(&self) -> Result<Stats> {
        Ok(self.storage.stats()?)
    }

    /// Forces every acknowledged commit to disk, whatever the sync mode, and saves the
    /// derived indexes of open collections (so the next open need not catch up).
    pub fn checkpoint(&self) -> Result<()> {
        self.shared.save_all()?;
        Ok(self.storage.checkpoint()?)
    }

    #[cfg(any(feature = "collections", feature = "sql"))]
    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }
}

/// A snapshot-isolation transaction over the KV data (see
/// [`storage::Transaction`] for the isolation rules). Commit with
/// [`commit`](Transaction::commit); dropping it aborts.
#[derive(Debug)]
pub struct Transaction {
    inner: storage::Transaction,
    kv: Keyspace,
    #[cfg(feature = "sql")]
    pub(crate) db: Database,
}

impl Transaction {
    /// The transaction's id.
    pub fn id(&self) -> u64 {
        self.inner.id()
    }

    /// Reads `key`, seeing this transaction's own writes.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.inner.get(&self.kv, key)?)
    }

    /// Buffers a write.
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        Ok(self.inner.put(&self.kv, key, value)?)
    }

    /// Buffers a deletion.
    pub fn delete(&mut self, key: &[u8]) -> Result<()> {
        Ok(self.inner.delete(&self.kv, key)?)
    }

    /// Writes `value` at `path`.
    pub fn put_path(&mut self, path: &str, value: &[u8]) -> Result<()> {
        storage::validate_path(path)?;
        self.put(path.as_bytes(), value)
    }

    /// Reads the value at `path`.
    pub fn get_path(&self, path: &str) -> Result<Option<Vec<u8>>> {
        storage::validate_path(path)?;
        self.get(path.as_bytes())
    }

    /// Scans `[start, end)`, this transaction's writes merged in.
    pub fn scan(&self, start: &[u8], end: &[u8]) -> Result<Scan> {
        Ok(self.inner.scan(&self.kv, start, end)?)
    }

    /// Scans the keys starting with `prefix`, this transaction's writes merged in.
    pub fn scan_prefix(&self, prefix: &[u8]) -> Result<Scan> {
        Ok(self.inner.scan_prefix(&self.kv, prefix)?)
    }

    /// Scans `[start, end)` in descending key order.
    pub fn scan_reverse(&self, start: &[u8], end: &[u8]) -> Result<Scan> {
        Ok(self.inner.scan_range(
            &self.kv,
            Bound::Included(start),
            Bound::Excluded(end),
            ScanOrder::Reverse,
        )?)
    }

    /// Sets a savepoint: [`rollback_to`](Transaction::rollback_to) it undoes every write
    /// made after it (KV, SQL and collection writes alike), [`release`](Transaction::release)
    /// keeps them. Savepoints nest.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let db = toondb::Database::open(dir.path())?;
    /// db.transaction(|txn| {
    ///     txn.put(b"kept", b"1")?;
    ///     let sp = txn.savepoint();
    ///     txn.put(b"undone", b"2")?;
    ///     txn.rollback_to(sp)?;
    ///     assert_eq!(txn.get(b"undone")?, None);
    ///     Ok(())
    /// })?;
    /// assert_eq!(db.get(b"kept")?, Some(b"1".to_vec()));
    /// # Ok::<(), toondb::Error>(())
    /// ```
    pub fn savepoint(&mut self) -> storage::Savepoint {
        self.inner.savepoint()
    }

    /// Undoes every write made since `savepoint` and ends it (and any savepoint set
    /// after it).
    pub fn rollback_to(&mut self, savepoint: storage::Savepoint) -> Result<()> {
        Ok(self.inner.rollback_to(savepoint)?)
    }

    /// Ends `savepoint` (and any savepoint set after it), keeping the writes made since.
    pub fn release(&mut self, savepoint: storage::Savepoint) -> Result<()> {
        Ok(self.inner.release(savepoint)?)
    }

    /// The storage transaction, for reads and writes in other keyspaces.
    pub fn storage_mut(&mut self) -> &mut storage::Transaction {
        &mut self.inner
    }

    /// Commits; returns the commit sequence number. A conflict is a retryable error.
    pub fn commit(self) -> Result<u64> {
        Ok(self.inner.commit()?)
    }

    /// Aborts, discarding every write (dropping does the same).
    pub fn abort(self) {
        self.inner.abort()
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Storage(storage::Error::Io(e))
    }
}
