//! The executor's view of storage: one statement's reads and writes on its storage
//! transaction. The statement runs under a savepoint of that transaction (see
//! `engine.rs`), so a failing statement's writes are rolled back and it changes nothing;
//! reads see the transaction's writes, the statement's own included.

use std::ops::Bound;

use toondb_storage::{Keyspace, ScanOrder, Transaction};

use crate::error::{Error, Result};

pub(crate) type KvIter<'a> = Box<dyn Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> + 'a>;

/// A statement's window on the SQL keyspace of one storage transaction.
pub(crate) struct StmtKv<'t> {
    txn: &'t mut Transaction,
    ks: &'t Keyspace,
    /// Whether the statement rewrote the catalog (so the transaction's cached copy of it
    /// is stale).
    pub(crate) catalog_written: bool,
}

impl<'t> StmtKv<'t> {
    pub(crate) fn new(txn: &'t mut Transaction, ks: &'t Keyspace) -> Self {
        StmtKv {
            txn,
            ks,
            catalog_written: false,
        }
    }

    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.get_with(key, <[u8]>::to_vec)
    }

    /// Like [`StmtKv::get`], handing the value to `f` borrowed instead of copying it.
    pub(crate) fn get_with<T>(&self, key: &[u8], f: impl FnOnce(&[u8]) -> T) -> Result<Option<T>> {
        Ok(self.txn.get_with(self.ks, key, f)?)
    }

    /// Whether `key` holds a value.
    pub(crate) fn contains(&self, key: &[u8]) -> Result<bool> {
        Ok(self.get_with(key, |_| ())?.is_some())
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

    /// Ordered scan between the bounds, each pair copied out.
    pub(crate) fn scan(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        reverse: bool,
    ) -> Result<KvIter<'_>> {
        let it = self.txn.scan_range(self.ks, lower, upper, order(reverse))?;
        Ok(Box::new(it.map(|r| r.map_err(Error::from))))
    }
}

fn order(reverse: bool) -> ScanOrder {
    if reverse {
        ScanOrder::Reverse
    } else {
        ScanOrder::Forward
    }
}
