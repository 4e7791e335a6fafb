//! The database handle.

use std::io;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use redb::{Durability, ReadableDatabase};

use crate::commit::{self, Applied, CommitPipeline, WriteSet};
use crate::keyspace::Keyspace;
use crate::layout::{self, DATA_FILE, KV_KEYSPACE, META_COMMIT_SEQ, META_FORMAT, META_TABLE};
use crate::options::{DatabaseBuilder, NORMAL_FLUSH_INTERVAL, SyncMode};
use crate::path::{children_prefix, list_children, validate_path};
use crate::txn::{Scan, ScanBatches, ScanOrder, Snapshot, Transaction, prefix_end};
use crate::{Error, Result, Stats, check_key, check_value};

/// An open ToonDB storage database: a directory holding one redb file.
///
/// `Database` is a cheap handle (`Clone + Send + Sync`); clones share one engine. The
/// database closes when the last handle, transaction and scan are gone; unflushed
/// commits (in [`SyncMode::Normal`] and [`SyncMode::Off`]) are flushed then. Only one
/// process may open a database at a time: a second gets [`Error::Locked`].
///
/// ```
/// # fn main() -> toondb_storage::Result<()> {
/// let dir = tempfile::tempdir()?;
/// let db = toondb_storage::Database::open(dir.path())?;
/// db.put(b"greeting", b"hello")?;
/// assert_eq!(db.get(b"greeting")?.as_deref(), Some(&b"hello"[..]));
///
/// let seq = db.transaction(|txn| {
///     let kv = db.kv_keyspace();
///     let n = txn.get(&kv, b"counter")?.map_or(0, |v| v[0]);
///     txn.put(&kv, b"counter", &[n + 1])?;
///     Ok::<_, toondb_storage::Error>(())
/// })?;
/// # let _ = seq;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

/// State shared by all handles, transactions and scans of one open database.
pub(crate) struct Inner {
    core: Arc<Core>,
    flusher: Mutex<Option<JoinHandle<()>>>,
    pub(crate) pipeline: CommitPipeline,
    kv: Keyspace,
}

/// Transaction ids: one counter for the process, so that an id names one transaction
/// even across several open databases.
static NEXT_TXN_ID: AtomicU64 = AtomicU64::new(1);

fn next_txn_id() -> u64 {
    NEXT_TXN_ID.fetch_add(1, Ordering::Relaxed)
}

/// What the background flusher shares with the handles.
struct Core {
    dir: PathBuf,
    db: redb::Database,
    sync_mode: SyncMode,
    /// Commits applied with redb's `None` durability and not yet flushed.
    dirty: AtomicBool,
    shutdown: Mutex<bool>,
    wake: Condvar,
    counters: Counters,
}

#[derive(Default)]
struct Counters {
    bytes_written: AtomicU64,
    bytes_read: AtomicU64,
    committed: AtomicU64,
    aborted: AtomicU64,
    queries: AtomicU64,
}

impl Database {
    /// Opens the database in directory `dir`, creating it if missing, with default
    /// options ([`SyncMode::Full`]).
    pub fn open(dir: impl AsRef<Path>) -> Result<Database> {
        Database::open_with(dir.as_ref(), DatabaseBuilder::default())
    }

    /// Options for opening a database.
    pub fn builder() -> DatabaseBuilder {
        DatabaseBuilder::default()
    }

    pub(crate) fn open_with(dir: &Path, opts: DatabaseBuilder) -> Result<Database> {
        prepare_dir(dir, opts.create_if_missing)?;
        let file = dir.join(DATA_FILE);
        let mut builder = redb::Builder::new();
        builder.set_cache_size(opts.cache_size);
        let redb_db = match builder.create(&file) {
            Ok(db) => db,
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                return Err(Error::Locked {
                    path: dir.to_path_buf(),
                });
            }
            Err(redb::DatabaseError::Storage(redb::StorageError::Io(e)))
                if e.kind() == io::ErrorKind::InvalidData =>
            {
                return Err(Error::NotADatabase {
                    path: file,
                    reason: e.to_string(),
                });
            }
            Err(redb::DatabaseError::Storage(redb::StorageError::Io(e))) => {
                return Err(io_error(&file, e));
            }
            Err(redb::DatabaseError::Storage(redb::StorageError::Corrupted(msg))) => {
                return Err(Error::NotADatabase {
                    path: file,
                    reason: format!("not a valid redb file: {msg}"),
                });
            }
            Err(e) => return Err(Error::engine(e)),
        };
        let last_seq = init_meta(&redb_db, &file)?;
        let core = Arc::new(Core {
            dir: dir.to_path_buf(),
            db: redb_db,
            sync_mode: opts.sync_mode,
            dirty: AtomicBool::new(false),
            shutdown: Mutex::new(false),
            wake: Condvar::new(),
            counters: Counters::default(),
        });
        let flusher = if opts.sync_mode == SyncMode::Normal {
            let core = core.clone();
            Some(
                std::thread::Builder::new()
                    .name("toondb-flusher".into())
                    .spawn(move || core.flush_loop())?,
            )
        } else {
            None
        };
        Ok(Database {
            inner: Arc::new(Inner {
                core,
                flusher: Mutex::new(flusher),
                pipeline: CommitPipeline::new(last_seq),
                kv: Keyspace::new(KV_KEYSPACE)?,
            }),
        })
    }

    /// The database directory.
    pub fn path(&self) -> &Path {
        &self.inner.core.dir
    }

    /// The durability mode the database was opened with.
    pub fn sync_mode(&self) -> SyncMode {
        self.inner.core.sync_mode
    }

    /// A handle to the keyspace `name` (see [`Keyspace`] for the naming rules).
    pub fn keyspace(&self, name: &str) -> Result<Keyspace> {
        Keyspace::new(name)
    }

    /// The keyspace of the user's key-value data, which the KV and path APIs use.
    pub fn kv_keyspace(&self) -> Keyspace {
        self.inner.kv.clone()
    }

    /// Begins a snapshot-isolation [`Transaction`].
    pub fn begin_transaction(&self) -> Result<Transaction> {
        let core = &self.inner.core;
        let (snapshot, seq) = self.inner.pipeline.register(|| {
            let read = core.db.begin_read().map_err(Error::engine)?;
            let seq = read_seq(&read)?;
            Ok((Snapshot::new(read), seq))
        })?;
        let id = next_txn_id();
        Ok(Transaction::new(self.inner.clone(), id, snapshot, seq))
    }

    /// Runs `f` in a transaction: commits if it returns `Ok`, aborts if it returns
    /// `Err`. Returns `f`'s value. A conflict at commit is returned as an error
    /// (see [`transaction_with_retry`](Self::transaction_with_retry)).
    pub fn transaction<T, E>(
        &self,
        f: impl FnOnce(&mut Transaction) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>
    where
        E: From<Error>,
    {
        let mut txn = self.begin_transaction()?;
        let value = f(&mut txn)?;
        txn.commit()?;
        Ok(value)
    }

    /// Like [`transaction`](Self::transaction), but runs `f` again, on a fresh
    /// snapshot, when commit fails with a retryable conflict, up to `max_attempts`
    /// times in all. Returns the value and the number of attempts made.
    pub fn transaction_with_retry<T, E>(
        &self,
        max_attempts: usize,
        mut f: impl FnMut(&mut Transaction) -> std::result::Result<T, E>,
    ) -> std::result::Result<(T, usize), E>
    where
        E: From<Error>,
    {
        if max_attempts == 0 {
            return Err(Error::InvalidArgument("max_attempts must be at least 1".into()).into());
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut txn = self.begin_transaction()?;
            let value = f(&mut txn)?;
            match txn.commit() {
                Ok(_) => return Ok((value, attempt)),
                Err(e) if e.is_retryable() && attempt < max_attempts => {
                    // Back off a little so the winner's successors can finish.
                    std::thread::sleep(Duration::from_micros(50 * attempt as u64));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Reads `key` from the KV keyspace.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.get_in(&self.inner.kv, key)
    }

    /// Reads `key` from keyspace `ks` (autocommit read of the latest commit).
    pub fn get_in(&self, ks: &Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.inner.count_query();
        let value = crate::txn::get_latest(&self.inner.core.db, ks, key)?;
        if let Some(v) = &value {
            self.inner.count_read(key.len() + v.len());
        }
        Ok(value)
    }

    /// Writes `value` under `key` in the KV keyspace, as its own commit, and returns
    /// the commit sequence number. Concurrent callers share one durable commit.
    pub fn put(&self, key: &[u8], value: &[u8]) -> Result<u64> {
        self.put_in(&self.inner.kv, key, value)
    }

    /// Writes `value` under `key` in keyspace `ks`, as its own commit.
    pub fn put_in(&self, ks: &Keyspace, key: &[u8], value: &[u8]) -> Result<u64> {
        check_key(key)?;
        check_value(value)?;
        self.write_one(ks, key, Some(value))
    }

    /// Deletes `key` from the KV keyspace, as its own commit (a missing key is fine).
    pub fn delete(&self, key: &[u8]) -> Result<u64> {
        self.delete_in(&self.inner.kv, key)
    }

    /// Deletes `key` from keyspace `ks`, as its own commit.
    pub fn delete_in(&self, ks: &Keyspace, key: &[u8]) -> Result<u64> {
        check_key(key)?;
        self.write_one(ks, key, None)
    }

    fn write_one(&self, ks: &Keyspace, key: &[u8], value: Option<&[u8]>) -> Result<u64> {
        let mut writes = WriteSet::new();
        writes.entry(ks.clone()).or_default().insert(key, value);
        let id = next_txn_id();
        self.inner.commit(id, None, writes)
    }

    /// Writes `value` at `path` (for example `users/alice/email`) in the KV keyspace.
    pub fn put_path(&self, path: &str, value: &[u8]) -> Result<u64> {
        validate_path(path)?;
        self.put(path.as_bytes(), value)
    }

    /// Reads the value at `path`.
    pub fn get_path(&self, path: &str) -> Result<Option<Vec<u8>>> {
        validate_path(path)?;
        self.get(path.as_bytes())
    }

    /// Deletes the value at `path` (not its children).
    pub fn delete_path(&self, path: &str) -> Result<u64> {
        validate_path(path)?;
        self.delete(path.as_bytes())
    }

    /// The names of the direct children of `path`, sorted: for keys `users/alice/email`
    /// and `users/bob`, the children of `users` are `alice` and `bob`. `""` is the root.
    pub fn list_children(&self, path: &str) -> Result<Vec<String>> {
        let prefix = children_prefix(path)?;
        let snapshot = self.snapshot()?;
        let kv = &self.inner.kv;
        list_children(&prefix, |from| {
            let end = prefix_end(&prefix);
            let upper = end.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
            let mut scan = snapshot.scan(
                &self.inner,
                kv,
                Bound::Included(from),
                upper,
                ScanOrder::Forward,
                Vec::new(),
            )?;
            scan.next().transpose().map(|o| o.map(|(k, _)| k))
        })
    }

    /// Scans `[start, end)` of the KV keyspace in key order, on one snapshot.
    pub fn scan(&self, start: &[u8], end: &[u8]) -> Result<Scan> {
        self.scan_range(
            Bound::Included(start),
            Bound::Excluded(end),
            ScanOrder::Forward,
        )
    }

    /// Scans every key of the KV keyspace that starts with `prefix`, in key order.
    pub fn scan_prefix(&self, prefix: &[u8]) -> Result<Scan> {
        let end = prefix_end(prefix);
        let upper = end.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        self.scan_range(Bound::Included(prefix), upper, ScanOrder::Forward)
    }

    /// Scans `[start, end)` of the KV keyspace in descending key order.
    pub fn scan_reverse(&self, start: &[u8], end: &[u8]) -> Result<Scan> {
        self.scan_range(
            Bound::Included(start),
            Bound::Excluded(end),
            ScanOrder::Reverse,
        )
    }

    /// Scans the KV keyspace between two bounds, in the given order.
    pub fn scan_range(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        order: ScanOrder,
    ) -> Result<Scan> {
        self.snapshot()?
            .scan(&self.inner, &self.inner.kv, lower, upper, order, Vec::new())
    }

    /// Scans `[start, end)` of the KV keyspace in `Vec`s of at most `batch_size` pairs.
    pub fn scan_batched(&self, start: &[u8], end: &[u8], batch_size: usize) -> Result<ScanBatches> {
        self.scan(start, end)?.batched(batch_size)
    }

    /// Counters since the database was opened, and the current number of keys in the
    /// KV keyspace. See [`Stats`] for exactly what each counts.
    pub fn stats(&self) -> Result<Stats> {
        let c = &self.inner.core.counters;
        let keys_count = self.snapshot()?.len(&self.inner.kv)?;
        let cache = self.inner.core.db.cache_stats();
        Ok(Stats {
            keys_count,
            bytes_written: c.bytes_written.load(Ordering::Relaxed),
            bytes_read: c.bytes_read.load(Ordering::Relaxed),
            transactions_committed: c.committed.load(Ordering::Relaxed),
            transactions_aborted: c.aborted.load(Ordering::Relaxed),
            queries_executed: c.queries.load(Ordering::Relaxed),
            cache_hits: cache.read_hits(),
            cache_misses: cache.read_misses(),
            last_commit_seq: self.last_commit_seq()?,
        })
    }

    /// The sequence number of the latest commit visible to readers.
    pub fn last_commit_seq(&self) -> Result<u64> {
        let read = self.inner.core.db.begin_read().map_err(Error::engine)?;
        read_seq(&read)
    }

    /// Forces every acknowledged commit to disk (an fsync), whatever the sync mode.
    pub fn checkpoint(&self) -> Result<()> {
        self.inner.core.flush()
    }

    fn snapshot(&self) -> Result<Snapshot> {
        let read = self.inner.core.db.begin_read().map_err(Error::engine)?;
        Ok(Snapshot::new(read))
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("path", &self.inner.core.dir)
            .field("sync_mode", &self.inner.core.sync_mode)
            .finish()
    }
}

impl Inner {
    pub(crate) fn commit(
        &self,
        txn_id: u64,
        snapshot: Option<u64>,
        writes: WriteSet,
    ) -> Result<u64> {
        let core = &self.core;
        let durable = core.sync_mode == SyncMode::Full;
        let durability = if durable {
            Durability::Immediate
        } else {
            Durability::None
        };
        let result = self.pipeline.commit(
            &core.db,
            durability,
            txn_id,
            snapshot,
            writes,
            &|applied: Applied| {
                core.counters
                    .bytes_written
                    .fetch_add(applied.bytes_written, Ordering::Relaxed);
                if !durable {
                    core.dirty.store(true, Ordering::Release);
                }
            },
        );
        self.count_commit(result.is_ok());
        result
    }

    pub(crate) fn count_commit(&self, ok: bool) {
        let c = &self.core.counters;
        if ok {
            c.committed.fetch_add(1, Ordering::Relaxed);
        } else {
            c.aborted.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn count_query(&self) {
        self.core.counters.queries.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_read(&self, bytes: usize) {
        self.core
            .counters
            .bytes_read
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        *self.core.shutdown.lock() = true;
        self.core.wake.notify_all();
        if let Some(handle) = self.flusher.lock().take() {
            let _ = handle.join();
        }
        // Close-time flush of non-durable commits; there is no one left to report to.
        let _ = self.core.flush_if_dirty();
    }
}

impl Core {
    fn flush(&self) -> Result<()> {
        self.dirty.store(false, Ordering::Release);
        commit::flush(&self.db).inspect_err(|_| self.dirty.store(true, Ordering::Release))
    }

    fn flush_if_dirty(&self) -> Result<()> {
        if self.dirty.load(Ordering::Acquire) {
            self.flush()
        } else {
            Ok(())
        }
    }

    /// The `Normal` mode's background flusher: wakes twice per interval and flushes
    /// if anything was committed non-durably since the last flush.
    fn flush_loop(&self) {
        let mut shutdown = self.shutdown.lock();
        while !*shutdown {
            self.wake.wait_for(&mut shutdown, NORMAL_FLUSH_INTERVAL / 2);
            if *shutdown {
                break;
            }
            drop(shutdown);
            // A failed flush leaves `dirty` set: the next round (or close) retries.
            let _ = self.flush_if_dirty();
            shutdown = self.shutdown.lock();
        }
    }
}

fn io_error(path: &Path, e: io::Error) -> Error {
    match e.kind() {
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => Error::ReadOnly {
            path: path.to_path_buf(),
            source: e,
        },
        _ => Error::Io(e),
    }
}

fn prepare_dir(dir: &Path, create: bool) -> Result<()> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Error::NotADatabase {
            path: dir.to_path_buf(),
            reason: "it is a file; a ToonDB database is a directory".into(),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if create {
                std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))
            } else {
                Err(Error::NotFound {
                    path: dir.to_path_buf(),
                })
            }
        }
        Err(e) => Err(io_error(dir, e)),
    }
}

/// Checks (or, for a new file, writes) the format marker; returns the last commit seq.
fn init_meta(db: &redb::Database, file: &Path) -> Result<u64> {
    let read = db.begin_read().map_err(Error::engine)?;
    match read.open_table(META_TABLE) {
        Ok(meta) => {
            let marker = meta.get(META_FORMAT).map_err(Error::engine)?;
            match marker {
                Some(m) => layout::check_format_marker(file, m.value())?,
                None => {
                    return Err(Error::NotADatabase {
                        path: file.to_path_buf(),
                        reason: "the metadata table has no format marker".into(),
                    });
                }
            }
            let seq = meta.get(META_COMMIT_SEQ).map_err(Error::engine)?;
            layout::decode_seq(seq.as_ref().map(|g| g.value()))
        }
        Err(redb::TableError::TableDoesNotExist(_)) => {
            let foreign = read.list_tables().map_err(Error::engine)?.next().is_some();
            if foreign {
                return Err(Error::NotADatabase {
                    path: file.to_path_buf(),
                    reason: "a redb file written by another program".into(),
                });
            }
            drop(read);
            let mut wtx = db.begin_write().map_err(Error::engine)?;
            wtx.set_durability(Durability::Immediate)
                .map_err(Error::engine)?;
            {
                let mut meta = wtx.open_table(META_TABLE).map_err(Error::engine)?;
                meta.insert(META_FORMAT, layout::format_marker().as_slice())
                    .map_err(Error::engine)?;
                meta.insert(META_COMMIT_SEQ, 0u64.to_be_bytes().as_slice())
                    .map_err(Error::engine)?;
            }
            wtx.commit().map_err(Error::engine)?;
            Ok(0)
        }
        Err(e) => Err(Error::engine(e)),
    }
}

fn read_seq(read: &redb::ReadTransaction) -> Result<u64> {
    let meta = read.open_table(META_TABLE).map_err(Error::engine)?;
    let seq = meta.get(META_COMMIT_SEQ).map_err(Error::engine)?;
    layout::decode_seq(seq.as_ref().map(|g| g.value()))
}
