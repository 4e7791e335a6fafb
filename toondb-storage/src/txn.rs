//! Snapshots, transactions and scans.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use parking_lot::Mutex;
use redb::ReadOnlyTable;

use crate::commit::WriteSet;
use crate::db::Inner;
use crate::keyspace::Keyspace;
use crate::writebuf::WriteBuf;
use crate::{Error, Result, check_key, check_value};

type RedbTable = ReadOnlyTable<&'static [u8], &'static [u8]>;
type RedbRange = redb::Range<'static, &'static [u8], &'static [u8]>;

/// A consistent, read-only view of the whole database as of one commit.
pub(crate) struct Snapshot {
    read: redb::ReadTransaction,
    /// Tables opened so far; `None` records a keyspace that does not exist yet. A
    /// transaction touches few keyspaces, so a short list beats a hash map.
    tables: Mutex<Vec<(Keyspace, Option<Arc<RedbTable>>)>>,
}

impl Snapshot {
    pub(crate) fn new(read: redb::ReadTransaction) -> Snapshot {
        Snapshot {
            read,
            tables: Mutex::new(Vec::new()),
        }
    }

    fn table(&self, ks: &Keyspace) -> Result<Option<Arc<RedbTable>>> {
        let mut tables = self.tables.lock();
        if let Some((_, t)) = tables.iter().find(|(k, _)| k == ks) {
            return Ok(t.clone());
        }
        let table = open_table(&self.read, ks)?.map(Arc::new);
        tables.push((ks.clone(), table.clone()));
        Ok(table)
    }

    /// Calls `f` with the value of `key` (borrowed from the page) and returns what it
    /// returns; `None` when the key is absent.
    pub(crate) fn get_with<T>(
        &self,
        ks: &Keyspace,
        key: &[u8],
        f: impl FnOnce(&[u8]) -> T,
    ) -> Result<Option<T>> {
        // The hot path of transactional reads: read under the lock, without cloning the
        // table's `Arc`.
        let tables = self.tables.lock();
        if let Some((_, t)) = tables.iter().find(|(k, _)| k == ks) {
            return match t {
                Some(table) => table_get_with(table, key, f),
                None => Ok(None),
            };
        }
        drop(tables);
        match self.table(ks)? {
            Some(table) => table_get_with(&table, key, f),
            None => Ok(None),
        }
    }

    pub(crate) fn len(&self, ks: &Keyspace) -> Result<u64> {
        use redb::ReadableTableMetadata;
        match self.table(ks)? {
            Some(t) => t.len().map_err(Error::engine),
            None => Ok(0),
        }
    }

    fn range(
        &self,
        ks: &Keyspace,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
    ) -> Result<Option<RedbRange>> {
        if range_is_empty(lower, upper) {
            return Ok(None);
        }
        let Some(table) = self.table(ks)? else {
            return Ok(None);
        };
        table
            .range::<&[u8]>((lower, upper))
            .map(Some)
            .map_err(Error::engine)
    }

    /// A merged scan over this snapshot and `overlay` (a transaction's own writes).
    pub(crate) fn scan(
        &self,
        db: &Arc<Inner>,
        ks: &Keyspace,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        order: ScanOrder,
        overlay: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    ) -> Result<Scan> {
        db.count_query();
        let base = self.range(ks, lower, upper)?;
        let mut overlay = overlay;
        if order == ScanOrder::Reverse {
            overlay.reverse();
        }
        Ok(Scan {
            db: db.clone(),
            base,
            base_peek: None,
            overlay: overlay.into_iter(),
            overlay_peek: None,
            order,
            failed: false,
        })
    }
}

/// Opens the table of `ks` in `read`; `None` if the keyspace was never written.
fn open_table(read: &redb::ReadTransaction, ks: &Keyspace) -> Result<Option<RedbTable>> {
    match read.open_table(ks.table()) {
        Ok(t) => Ok(Some(t)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(Error::engine(e)),
    }
}

fn table_get(table: &RedbTable, key: &[u8]) -> Result<Option<Vec<u8>>> {
    table_get_with(table, key, <[u8]>::to_vec)
}

fn table_get_with<T>(
    table: &RedbTable,
    key: &[u8],
    f: impl FnOnce(&[u8]) -> T,
) -> Result<Option<T>> {
    Ok(table.get(key).map_err(Error::engine)?.map(|v| f(v.value())))
}

/// One read of the latest commit, without building a [`Snapshot`].
pub(crate) fn get_latest(
    db: &redb::Database,
    ks: &Keyspace,
    key: &[u8],
) -> Result<Option<Vec<u8>>> {
    use redb::ReadableDatabase;
    let read = db.begin_read().map_err(Error::engine)?;
    match open_table(&read, ks)? {
        Some(table) => table_get(&table, key),
        None => Ok(None),
    }
}

/// `true` when no key can lie between the bounds (redb panics on an inverted range).
pub(crate) fn range_is_empty(lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> bool {
    match (lower, upper) {
        (Bound::Included(l), Bound::Included(u)) => l > u,
        (Bound::Included(l), Bound::Excluded(u))
        | (Bound::Excluded(l), Bound::Included(u))
        | (Bound::Excluded(l), Bound::Excluded(u)) => l >= u,
        _ => false,
    }
}

/// The smallest key greater than every key that starts with `prefix`, or `None` when
/// no such key exists (the prefix is empty or all `0xFF`).
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// How the snapshot's key `base` compares with the transaction's own key `own` in the
/// direction of the scan (`Less`: `base` comes first; `Equal`: `own` shadows it).
fn scan_cmp(base: &[u8], own: &[u8], order: ScanOrder) -> Ordering {
    match order {
        ScanOrder::Forward => base.cmp(own),
        ScanOrder::Reverse => own.cmp(base),
    }
}

/// The next entry of `range` in `order`.
fn step<I: DoubleEndedIterator>(range: &mut I, order: ScanOrder) -> Option<I::Item> {
    match order {
        ScanOrder::Forward => range.next(),
        ScanOrder::Reverse => range.next_back(),
    }
}

/// The direction of a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScanOrder {
    /// Ascending key order.
    #[default]
    Forward,
    /// Descending key order.
    Reverse,
}

/// An ordered iterator over key-value pairs of one keyspace, as of one snapshot (plus,
/// for a transaction's scan, the transaction's own writes at the time the scan was
/// created).
///
/// A scan owns what it reads: it borrows nothing from the transaction or database that
/// made it, and keeps reading its snapshot while others commit. After an error it ends.
pub struct Scan {
    db: Arc<Inner>,
    base: Option<RedbRange>,
    base_peek: Option<(Vec<u8>, Vec<u8>)>,
    overlay: std::vec::IntoIter<(Vec<u8>, Option<Vec<u8>>)>,
    overlay_peek: Option<(Vec<u8>, Option<Vec<u8>>)>,
    order: ScanOrder,
    failed: bool,
}

impl Scan {
    fn fill_base(&mut self) -> Result<()> {
        if self.base_peek.is_some() {
            return Ok(());
        }
        let Some(base) = self.base.as_mut() else {
            return Ok(());
        };
        match step(base, self.order) {
            None => self.base = None,
            Some(Ok((k, v))) => self.base_peek = Some((k.value().to_vec(), v.value().to_vec())),
            Some(Err(e)) => return Err(Error::engine(e)),
        }
        Ok(())
    }

    /// Groups the rest of the scan into `Vec`s of at most `batch_size` pairs, so a
    /// caller across an FFI boundary pays per batch rather than per key.
    pub fn batched(self, batch_size: usize) -> Result<ScanBatches> {
        if batch_size == 0 {
            return Err(Error::InvalidArgument(
                "batch_size must be at least 1".into(),
            ));
        }
        Ok(ScanBatches {
            scan: self,
            batch_size,
        })
    }
}

impl Iterator for Scan {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            if let Err(e) = self.fill_base() {
                self.failed = true;
                return Some(Err(e));
            }
            if self.overlay_peek.is_none() {
                self.overlay_peek = self.overlay.next();
            }
            let take_overlay = match (&self.base_peek, &self.overlay_peek) {
                (None, None) => return None,
                (Some(_), None) => false,
                (None, Some(_)) => true,
                (Some((bk, _)), Some((ok, _))) => {
                    match scan_cmp(bk, ok, self.order) {
                        Ordering::Less => false,
                        Ordering::Greater => true,
                        Ordering::Equal => {
                            // The transaction's own write shadows the snapshot's value.
                            self.base_peek = None;
                            true
                        }
                    }
                }
            };
            let pair = if take_overlay {
                match self.overlay_peek.take() {
                    Some((k, Some(v))) => (k, v),
                    _ => continue, // a deletion: skip the key
                }
            } else {
                match self.base_peek.take() {
                    Some(pair) => pair,
                    None => continue,
                }
            };
            self.db.count_read(pair.0.len() + pair.1.len());
            return Some(Ok(pair));
        }
    }
}

/// The batches of a [`Scan`]: each item is a `Vec` of at most the batch size pairs.
pub struct ScanBatches {
    scan: Scan,
    batch_size: usize,
}

impl Iterator for ScanBatches {
    type Item = Result<Vec<(Vec<u8>, Vec<u8>)>>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut batch = Vec::with_capacity(self.batch_size.min(4096));
        for item in self.scan.by_ref() {
            match item {
                Ok(pair) => {
                    batch.push(pair);
                    if batch.len() == self.batch_size {
                        break;
                    }
                }
                Err(e) => return Some(Err(e)),
            }
        }
        if batch.is_empty() {
            None
        } else {
            Some(Ok(batch))
        }
    }
}

/// A snapshot-isolation transaction.
///
/// It reads one consistent snapshot (taken at [`begin_transaction`]) and sees its own
/// writes, which it buffers in memory until [`commit`](Transaction::commit). Commit
/// checks the keys it wrote against every commit made since its snapshot: if another
/// transaction committed a write to one of them first, commit fails with the retryable
/// [`Error::Conflict`] and nothing is applied. Otherwise all writes land in one redb
/// write and commit returns the commit's sequence number. Dropping an uncommitted
/// transaction aborts it.
///
/// Snapshot isolation permits write skew (two transactions that each read what the
/// other writes, and write disjoint keys, both commit); write a key you depend on to
/// turn such a read into a conflict.
///
/// [`begin_transaction`]: crate::Database::begin_transaction
pub struct Transaction {
    db: Arc<Inner>,
    id: u64,
    snapshot_seq: u64,
    snapshot: Snapshot,
    writes: WriteSet,
    /// How many savepoints are set (each write buffer holds one mark per savepoint).
    savepoints: usize,
    finished: bool,
}

/// A point in a transaction's writes, set by [`Transaction::savepoint`]: rolling back to
/// it undoes the writes made since; releasing it keeps them. Either ends it and every
/// savepoint set after it. A savepoint that is neither stays set until the transaction
/// ends (which is harmless, but keeps the transaction tracking what to undo).
#[derive(Debug)]
#[must_use = "a savepoint is ended by Transaction::rollback_to or Transaction::release"]
pub struct Savepoint {
    txn: u64,
    depth: usize,
}

impl Transaction {
    pub(crate) fn new(db: Arc<Inner>, id: u64, snapshot: Snapshot, snapshot_seq: u64) -> Self {
        Transaction {
            db,
            id,
            snapshot_seq,
            snapshot,
            writes: WriteSet::new(),
            savepoints: 0,
            finished: false,
        }
    }

    /// This transaction's id, unique within the process.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The sequence number of the last commit this transaction's snapshot includes.
    pub fn snapshot_seq(&self) -> u64 {
        self.snapshot_seq
    }

    /// Whether the transaction has buffered any write.
    pub fn is_read_only(&self) -> bool {
        self.writes.is_empty()
    }

    /// Reads `key` in `ks`: the transaction's own write if it made one, else the snapshot.
    pub fn get(&self, ks: &Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.get_with(ks, key, <[u8]>::to_vec)
    }

    /// Reads `key` in `ks` like [`get`](Transaction::get), but hands the value to `f`
    /// borrowed instead of copying it out, and returns what `f` returns (`None` when the
    /// key is absent): the path for callers that decode or only test a value.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let db = toondb_storage::Database::open(dir.path())?;
    /// let ks = db.keyspace("rows")?;
    /// db.put_in(&ks, b"k", b"hello")?;
    /// let txn = db.begin_transaction()?;
    /// assert_eq!(txn.get_with(&ks, b"k", |v| v.len())?, Some(5));
    /// assert_eq!(txn.get_with(&ks, b"missing", |v| v.len())?, None);
    /// # Ok::<(), toondb_storage::Error>(())
    /// ```
    pub fn get_with<T>(
        &self,
        ks: &Keyspace,
        key: &[u8],
        f: impl FnOnce(&[u8]) -> T,
    ) -> Result<Option<T>> {
        self.db.count_query();
        let db = &self.db;
        let counted = |v: &[u8]| {
            db.count_read(key.len() + v.len());
            f(v)
        };
        match self.own_write(ks, key) {
            Some(own) => Ok(own.map(counted)),
            None => self.snapshot.get_with(ks, key, counted),
        }
    }

    /// This transaction's own buffered write of `key` in `ks`: `Some(Some(value))` for a
    /// put, `Some(None)` for a delete, `None` when it wrote nothing there. With
    /// [`snapshot_has_range`](Transaction::snapshot_has_range), a caller that checks many
    /// keys of a range the snapshot does not hold (rows of a table created or emptied
    /// before the transaction began, say) can skip the snapshot for each of them.
    pub fn own_write(&self, ks: &Keyspace, key: &[u8]) -> Option<Option<&[u8]>> {
        self.writes.get(ks).and_then(|w| w.get(key))
    }

    /// This transaction's own buffered writes to `ks` between the bounds, in `order`:
    /// `(key, Some(value))` for a put, `(key, None)` for a delete. The snapshot is not
    /// read (see [`own_write`](Transaction::own_write)).
    pub fn own_writes(
        &self,
        ks: &Keyspace,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        order: ScanOrder,
    ) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> + '_ {
        self.writes
            .get(ks)
            .filter(|_| !range_is_empty(lower, upper))
            .map(|w| w.range(lower, upper, order))
            .into_iter()
            .flatten()
    }

    /// Whether the transaction's snapshot holds any key of `ks` between the bounds, its
    /// own writes left out (one step of a range read).
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let db = toondb_storage::Database::open(dir.path())?;
    /// # use std::ops::Bound;
    /// let ks = db.keyspace("rows")?;
    /// db.put_in(&ks, b"a1", b"x")?;
    /// let mut txn = db.begin_transaction()?;
    /// txn.put(&ks, b"b1", b"y")?;
    /// let within = |p: &'static [u8], q: &'static [u8]| (Bound::Included(p), Bound::Excluded(q));
    /// let (lo, hi) = within(b"a", b"b");
    /// assert!(txn.snapshot_has_range(&ks, lo, hi)?);
    /// let (lo, hi) = within(b"b", b"c");
    /// assert!(!txn.snapshot_has_range(&ks, lo, hi)?);
    /// assert_eq!(txn.own_write(&ks, b"b1"), Some(Some(&b"y"[..])));
    /// let (lo, hi) = within(b"a", b"c");
    /// let own: Vec<_> = txn.own_writes(&ks, lo, hi, toondb_storage::ScanOrder::Forward).collect();
    /// assert_eq!(own, vec![(&b"b1"[..], Some(&b"y"[..]))]);
    /// # Ok::<(), toondb_storage::Error>(())
    /// ```
    pub fn snapshot_has_range(
        &self,
        ks: &Keyspace,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
    ) -> Result<bool> {
        match self.snapshot.range(ks, lower, upper)? {
            Some(mut range) => Ok(range.next().transpose().map_err(Error::engine)?.is_some()),
            None => Ok(false),
        }
    }

    /// Buffers a write of `value` under `key` in `ks`.
    pub fn put(&mut self, ks: &Keyspace, key: &[u8], value: &[u8]) -> Result<()> {
        check_key(key)?;
        check_value(value)?;
        self.buffer(ks).insert(key, Some(value));
        Ok(())
    }

    /// Buffers the deletion of `key` in `ks` (deleting a missing key is not an error).
    pub fn delete(&mut self, ks: &Keyspace, key: &[u8]) -> Result<()> {
        check_key(key)?;
        self.buffer(ks).insert(key, None);
        Ok(())
    }

    /// The write buffer of `ks`, made on first use with a mark per savepoint set.
    fn buffer(&mut self, ks: &Keyspace) -> &mut WriteBuf {
        let savepoints = self.savepoints;
        // Looked up first: the common case, a keyspace already written, clones no name.
        if !self.writes.contains_key(ks) {
            let mut buf = WriteBuf::default();
            (0..savepoints).for_each(|_| buf.mark());
            self.writes.insert(ks.clone(), buf);
        }
        self.writes.get_mut(ks).expect("inserted above")
    }

    /// Sets a savepoint: [`rollback_to`](Transaction::rollback_to) it undoes every write
    /// made after it, [`release`](Transaction::release) keeps them. Savepoints nest. The
    /// SQL layer sets one per statement, so that a failing statement changes nothing.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let db = toondb_storage::Database::open(dir.path())?;
    /// let ks = db.keyspace("rows")?;
    /// let mut txn = db.begin_transaction()?;
    /// txn.put(&ks, b"a", b"1")?;
    /// let sp = txn.savepoint();
    /// txn.put(&ks, b"a", b"2")?;
    /// txn.put(&ks, b"b", b"3")?;
    /// txn.rollback_to(sp)?;
    /// assert_eq!(txn.get(&ks, b"a")?, Some(b"1".to_vec()));
    /// assert_eq!(txn.get(&ks, b"b")?, None);
    /// # Ok::<(), toondb_storage::Error>(())
    /// ```
    pub fn savepoint(&mut self) -> Savepoint {
        self.writes.values_mut().for_each(WriteBuf::mark);
        self.savepoints += 1;
        Savepoint {
            txn: self.id,
            depth: self.savepoints,
        }
    }

    /// Undoes every write made since `savepoint` was set and ends it (and any savepoint
    /// set after it). Costs what those writes cost.
    pub fn rollback_to(&mut self, savepoint: Savepoint) -> Result<()> {
        self.end_savepoints(&savepoint, WriteBuf::rollback)?;
        // A keyspace first written after the savepoint has nothing left to write.
        self.writes.retain(|_, w| !w.is_empty());
        Ok(())
    }

    /// Ends `savepoint` (and any savepoint set after it), keeping the writes made since.
    pub fn release(&mut self, savepoint: Savepoint) -> Result<()> {
        self.end_savepoints(&savepoint, WriteBuf::release)
    }

    /// Ends `sp` and every savepoint set after it, innermost first, by `end` on each
    /// keyspace's marks.
    fn end_savepoints(&mut self, sp: &Savepoint, end: fn(&mut WriteBuf)) -> Result<()> {
        self.check_savepoint(sp)?;
        while self.savepoints >= sp.depth {
            self.writes.values_mut().for_each(end);
            self.savepoints -= 1;
        }
        Ok(())
    }

    fn check_savepoint(&self, sp: &Savepoint) -> Result<()> {
        if sp.txn != self.id {
            return Err(Error::InvalidArgument(format!(
                "savepoint of transaction {} used in transaction {}",
                sp.txn, self.id
            )));
        }
        if sp.depth > self.savepoints {
            return Err(Error::InvalidArgument(
                "savepoint already ended by rolling back to or releasing an earlier one".into(),
            ));
        }
        Ok(())
    }

    /// Buffers many writes to `ks` at once (`Some(value)` puts, `None` deletes), for a
    /// caller that collected them first. Every key and value is checked first, so on an
    /// error nothing of `writes` is buffered. (To undo writes already buffered, use a
    /// [`savepoint`](Transaction::savepoint).)
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let db = toondb_storage::Database::open(dir.path())?;
    /// let ks = db.keyspace("rows")?;
    /// let mut txn = db.begin_transaction()?;
    /// let mut writes = std::collections::BTreeMap::new();
    /// writes.insert(b"a".to_vec(), Some(b"1".to_vec()));
    /// writes.insert(b"b".to_vec(), None);
    /// txn.put_many(&ks, writes)?;
    /// assert_eq!(txn.get(&ks, b"a")?, Some(b"1".to_vec()));
    /// txn.commit()?;
    /// # Ok::<(), toondb_storage::Error>(())
    /// ```
    pub fn put_many(
        &mut self,
        ks: &Keyspace,
        writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    ) -> Result<()> {
        for (k, v) in &writes {
            check_key(k)?;
            if let Some(v) = v {
                check_value(v)?;
            }
        }
        if writes.is_empty() {
            // No entry for `ks`: a transaction with nothing to write stays read-only.
            return Ok(());
        }
        let mine = self.buffer(ks);
        for (k, v) in &writes {
            mine.insert(k, v.as_deref());
        }
        Ok(())
    }

    /// Scans `[start, end)` of `ks` in key order.
    pub fn scan(&self, ks: &Keyspace, start: &[u8], end: &[u8]) -> Result<Scan> {
        self.scan_range(
            ks,
            Bound::Included(start),
            Bound::Excluded(end),
            ScanOrder::Forward,
        )
    }

    /// Scans every key of `ks` that starts with `prefix`, in key order.
    pub fn scan_prefix(&self, ks: &Keyspace, prefix: &[u8]) -> Result<Scan> {
        let end = prefix_end(prefix);
        let upper = match &end {
            Some(e) => Bound::Excluded(e.as_slice()),
            None => Bound::Unbounded,
        };
        self.scan_range(ks, Bound::Included(prefix), upper, ScanOrder::Forward)
    }

    /// Scans the keys of `ks` between two bounds, in the given order.
    pub fn scan_range(
        &self,
        ks: &Keyspace,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        order: ScanOrder,
    ) -> Result<Scan> {
        let overlay = self
            .own_writes(ks, lower, upper, ScanOrder::Forward)
            .map(|(k, v)| (k.to_vec(), v.map(<[u8]>::to_vec)))
            .collect();
        self.snapshot
            .scan(&self.db, ks, lower, upper, order, overlay)
    }

    /// Calls `f` with each key-value pair of `ks` between the bounds, in `order`, as
    /// [`scan_range`](Transaction::scan_range) would yield them (this transaction's own
    /// writes included), until `f` returns `Ok(false)` or an error. Returns `Ok(false)`
    /// when `f` stopped the scan. Unlike a [`Scan`], the pairs are borrowed from the
    /// storage page (or the transaction's write buffer) for the call, and nothing is copied
    /// per pair: the bulk path for layers that decode every pair.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let db = toondb_storage::Database::open(dir.path())?;
    /// # use std::ops::Bound;
    /// let ks = db.keyspace("rows")?;
    /// db.put_in(&ks, b"a", b"1")?;
    /// db.put_in(&ks, b"b", b"22")?;
    /// let mut txn = db.begin_transaction()?;
    /// txn.put(&ks, b"c", b"333")?;
    /// let mut total = 0;
    /// txn.scan_range_with(&ks, Bound::Unbounded, Bound::Unbounded,
    ///     toondb_storage::ScanOrder::Forward, |_key, value| {
    ///         total += value.len();
    ///         Ok::<bool, toondb_storage::Error>(true)
    ///     })?;
    /// assert_eq!(total, 6);
    /// # Ok::<(), toondb_storage::Error>(())
    /// ```
    pub fn scan_range_with<E, F>(
        &self,
        ks: &Keyspace,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        order: ScanOrder,
        mut f: F,
    ) -> std::result::Result<bool, E>
    where
        E: From<Error>,
        F: FnMut(&[u8], &[u8]) -> std::result::Result<bool, E>,
    {
        // The snapshot's range and this transaction's own writes in it, merged lazily
        // (own writes shadow, own deletes hide): nothing is copied, and a caller that
        // stops after the first pair (the largest key, say) pays for one step of each.
        self.db.count_query();
        let mut base = self.snapshot.range(ks, lower, upper)?;
        let mut mine = self.own_writes(ks, lower, upper, order);
        let next_base = |base: &mut Option<RedbRange>| -> Result<_> {
            match base.as_mut().and_then(|r| step(r, order)) {
                Some(pair) => pair.map(Some).map_err(Error::engine),
                None => Ok(None),
            }
        };
        let mut base_peek = next_base(&mut base)?;
        let mut mine_peek = mine.next();
        loop {
            let take_mine = match (&base_peek, &mine_peek) {
                (None, None) => return Ok(true),
                (Some(_), None) => false,
                (None, Some(_)) => true,
                (Some((bk, _)), Some((mk, _))) => match scan_cmp(bk.value(), mk, order) {
                    Ordering::Less => false,
                    Ordering::Greater => true,
                    Ordering::Equal => {
                        base_peek = next_base(&mut base)?;
                        true
                    }
                },
            };
            if take_mine {
                if let Some((k, v)) = mine_peek.take() {
                    mine_peek = mine.next();
                    if let Some(v) = v {
                        self.db.count_read(k.len() + v.len());
                        if !f(k, v)? {
                            return Ok(false);
                        }
                    }
                }
            } else if let Some((k, v)) = base_peek.take() {
                base_peek = next_base(&mut base)?;
                let (k, v) = (k.value(), v.value());
                self.db.count_read(k.len() + v.len());
                if !f(k, v)? {
                    return Ok(false);
                }
            }
        }
    }

    /// Commits: checks for write-write conflicts, applies every write in one redb
    /// write transaction (durably, as the database's [`SyncMode`](crate::SyncMode)
    /// says) and returns the commit sequence number. A transaction that wrote nothing
    /// commits trivially and returns its snapshot's sequence number.
    pub fn commit(mut self) -> Result<u64> {
        self.finished = true;
        let mut writes = std::mem::take(&mut self.writes);
        writes.retain(|_, w| !w.is_empty());
        if writes.is_empty() {
            self.db.pipeline.unregister(self.snapshot_seq);
            self.db.count_commit(true);
            return Ok(self.snapshot_seq);
        }
        self.db.commit(self.id, Some(self.snapshot_seq), writes)
    }

    /// Aborts: discards every buffered write. Dropping the transaction does the same.
    pub fn abort(mut self) {
        self.finish_aborted();
    }

    fn finish_aborted(&mut self) {
        if !self.finished {
            self.finished = true;
            self.db.pipeline.unregister(self.snapshot_seq);
            self.db.count_commit(false);
        }
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        self.finish_aborted();
    }
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("id", &self.id)
            .field("snapshot_seq", &self.snapshot_seq)
            .field("keyspaces_written", &self.writes.len())
            .finish()
    }
}
