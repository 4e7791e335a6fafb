//! The executor's view of storage: reads through a storage transaction, writes buffered per
//! statement so that a failing statement changes nothing.

use std::collections::BTreeMap;
use std::ops::Bound;

use toondb_storage::{Keyspace, ScanOrder, Transaction};

use crate::error::Result;

pub(crate) type KvIter<'a> = Box<dyn Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> + 'a>;

/// A statement's window on one storage transaction: reads see the transaction (with its own
/// earlier writes) plus this statement's buffered writes; [`StmtKv::flush`] applies the buffer.
pub(crate) struct StmtKv<'t> {
    txn: &'t Transaction,
    ks: &'t Keyspace,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl<'t> StmtKv<'t> {
    pub(crate) fn new(txn: &'t Transaction, ks: &'t Keyspace) -> Self {
        StmtKv {
            txn,
            ks,
            writes: BTreeMap::new(),
        }
    }

    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.get_with(key, <[u8]>::to_vec)
    }

    /// Like [`StmtKv::get`], handing the value to `f` borrowed instead of copying it.
    pub(crate) fn get_with<T>(&self, key: &[u8], f: impl FnOnce(&[u8]) -> T) -> Result<Option<T>> {
        if let Some(w) = self.writes.get(key) {
            return Ok(w.as_deref().map(f));
        }
        Ok(self.txn.get_with(self.ks, key, f)?)
    }

    /// Whether `key` holds a value.
    pub(crate) fn contains(&self, key: &[u8]) -> Result<bool> {
        Ok(self.get_with(key, |_| ())?.is_some())
    }

    pub(crate) fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.writes.insert(key, Some(value));
    }

    pub(crate) fn delete(&mut self, key: Vec<u8>) {
        self.writes.insert(key, None);
    }

    /// The buffered writes, to apply to the transaction once the statement succeeded.
    pub(crate) fn into_writes(self) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        self.writes
    }

    /// Calls `f` with each pair between the bounds, in order, as [`StmtKv::scan`] would
    /// yield them, until `f` returns `Ok(false)` (then returns `Ok(false)`). Pairs are
    /// borrowed, not copied, when this statement has buffered no writes.
    pub(crate) fn scan_with(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        reverse: bool,
        mut f: impl FnMut(&[u8], &[u8]) -> Result<bool>,
    ) -> Result<bool> {
        if !self.writes.is_empty() {
            for pair in self.scan(lower, upper, reverse)? {
                let (k, v) = pair?;
                if !f(&k, &v)? {
                    return Ok(false);
                }
            }
            return Ok(true);
        }
        self.txn
            .scan_range_with(self.ks, lower, upper, order(reverse), f)
    }

    /// Ordered scan of `[lower, upper]` bounds, merging buffered writes over storage.
    pub(crate) fn scan(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        reverse: bool,
    ) -> Result<KvIter<'_>> {
        if let (Bound::Included(l) | Bound::Excluded(l), Bound::Included(u) | Bound::Excluded(u)) =
            (lower, upper)
            && l > u
        {
            return Ok(Box::new(std::iter::empty()));
        }
        let base = self
            .txn
            .scan_range(self.ks, lower, upper, order(reverse))?
            .map(|r| r.map_err(crate::error::Error::from));
        if self.writes.is_empty() {
            return Ok(Box::new(base));
        }
        let own = (lower.map(|b| b.to_vec()), upper.map(|b| b.to_vec()));
        let mut over: Vec<(Vec<u8>, Option<Vec<u8>>)> = self
            .writes
            .range::<Vec<u8>, _>(own)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if reverse {
            over.reverse();
        }
        Ok(Box::new(Merge {
            base: base.peekable(),
            over: over.into_iter().peekable(),
            reverse,
        }))
    }
}

fn order(reverse: bool) -> ScanOrder {
    if reverse {
        ScanOrder::Reverse
    } else {
        ScanOrder::Forward
    }
}

/// Applies a statement's buffered writes to its transaction.
pub(crate) fn apply_writes(
    txn: &mut Transaction,
    ks: &Keyspace,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
) -> Result<()> {
    Ok(txn.put_many(ks, writes)?)
}

type Pending = (Vec<u8>, Option<Vec<u8>>);

struct Merge<B: Iterator<Item = Result<(Vec<u8>, Vec<u8>)>>> {
    base: std::iter::Peekable<B>,
    over: std::iter::Peekable<std::vec::IntoIter<Pending>>,
    reverse: bool,
}

impl<B: Iterator<Item = Result<(Vec<u8>, Vec<u8>)>>> Iterator for Merge<B> {
    type Item = Result<(Vec<u8>, Vec<u8>)>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let take_over = match (self.base.peek(), self.over.peek()) {
                (None, None) => return None,
                (Some(Err(_)), _) => return self.base.next(),
                (None, Some(_)) => std::cmp::Ordering::Less,
                (Some(_), None) => std::cmp::Ordering::Greater,
                (Some(Ok((bk, _))), Some((ok, _))) => {
                    let o = ok.cmp(bk);
                    if self.reverse { o.reverse() } else { o }
                }
            };
            match take_over {
                std::cmp::Ordering::Greater => return self.base.next(),
                std::cmp::Ordering::Equal => {
                    self.base.next();
                }
                std::cmp::Ordering::Less => {}
            }
            if let Some((k, v)) = self.over.next()
                && let Some(v) = v
            {
                return Some(Ok((k, v)));
            }
        }
    }
}
