//! The executor's view of storage: one statement's reads and writes on its storage
//! transaction. The statement runs under a savepoint of that transaction (see
//! `engine.rs`), so a failing statement's writes are rolled back and it changes nothing;
//! reads see the transaction's writes, the statement's own included.

use std::ops::Bound;

use toondb_storage::{Keyspace, ScanOrder, Transaction};

use crate::error::Result;
use crate::exec::FastMap;
use crate::keycode::prefix_successor;

/// A statement's window on the SQL keyspace of one storage transaction.
pub(crate) struct StmtKv<'t> {
    txn: &'t mut Transaction,
    ks: &'t Keyspace,
    /// Per key prefix asked about: whether the transaction's snapshot holds keys under it
    /// (kept for the whole transaction: its snapshot never changes).
    prefixes: &'t mut FastMap<Vec<u8>, bool>,
    /// Whether the statement rewrote the catalog (so the transaction's cached copy of it
    /// is stale).
    pub(crate) catalog_written: bool,
}

impl<'t> StmtKv<'t> {
    pub(crate) fn new(
        txn: &'t mut Transaction,
        ks: &'t Keyspace,
        prefixes: &'t mut FastMap<Vec<u8>, bool>,
    ) -> Self {
        StmtKv {
            txn,
            ks,
            prefixes,
            catalog_written: false,
        }
    }

    /// Whether the transaction's snapshot holds any key starting with `prefix`, its own
    /// writes left out: one range probe per prefix per transaction. When it does not,
    /// [`StmtKv::get_own`] and [`StmtKv::last_own_key`] answer for keys under the prefix.
    pub(crate) fn snapshot_has_prefix(&mut self, prefix: &[u8]) -> Result<bool> {
        if let Some(&has) = self.prefixes.get(prefix) {
            return Ok(has);
        }
        let has = within(prefix, |lower, upper| {
            self.txn.snapshot_has_range(self.ks, lower, upper)
        })?;
        self.prefixes.insert(prefix.to_vec(), has);
        Ok(has)
    }

    /// The value of `key` among the transaction's own writes only: the answer for a key
    /// under a prefix the snapshot holds nothing under.
    pub(crate) fn get_own(&self, key: &[u8]) -> Option<&[u8]> {
        self.txn.own_write(self.ks, key).flatten()
    }

    /// The largest key starting with `prefix` that the transaction's own writes hold a
    /// value under (deletes skipped): the answer under a prefix the snapshot holds nothing
    /// under.
    pub(crate) fn last_own_key(&self, prefix: &[u8]) -> Option<Vec<u8>> {
        within(prefix, |lower, upper| {
            self.txn
                .own_writes(self.ks, lower, upper, ScanOrder::Reverse)
                .find(|(_, v)| v.is_some())
                .map(|(k, _)| k.to_vec())
        })
    }

    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.get_with(key, <[u8]>::to_vec)
    }

    /// Like [`StmtKv::get`], handing the value to `f` borrowed instead of copying it.
    pub(crate) fn get_with<T>(&self, key: &[u8], f: impl FnOnce(&[u8]) -> T) -> Result<Option<T>> {
        Ok(self.txn.get_with(self.ks, key, f)?)
    }

    pub(crate) fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        Ok(self.txn.put(self.ks, key, value)?)
    }

    pub(crate) fn delete(&mut self, key: &[u8]) -> Result<()> {
        Ok(self.txn.delete(self.ks, key)?)
    }

    /// Calls `f` with each pair between the bounds, in order, until `f` returns
    /// `Ok(false)` (then returns `Ok(false)`). Pairs are borrowed, not copied.
    pub(crate) fn scan_with(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        reverse: bool,
        f: impl FnMut(&[u8], &[u8]) -> Result<bool>,
    ) -> Result<bool> {
        self.txn
            .scan_range_with(self.ks, lower, upper, order(reverse), f)
    }

    /// [`StmtKv::scan_with`] over the keys that start with `prefix`.
    pub(crate) fn scan_prefix_with(
        &self,
        prefix: &[u8],
        reverse: bool,
        f: impl FnMut(&[u8], &[u8]) -> Result<bool>,
    ) -> Result<bool> {
        within(prefix, |lower, upper| {
            self.scan_with(lower, upper, reverse, f)
        })
    }
}

/// Calls `f` with the bounds of the keys that start with `prefix`.
fn within<R>(prefix: &[u8], f: impl FnOnce(Bound<&[u8]>, Bound<&[u8]>) -> R) -> R {
    let end = prefix_successor(prefix);
    f(
        Bound::Included(prefix),
        end.as_deref().map_or(Bound::Unbounded, Bound::Excluded),
    )
}

fn order(reverse: bool) -> ScanOrder {
    if reverse {
        ScanOrder::Reverse
    } else {
        ScanOrder::Forward
    }
}
