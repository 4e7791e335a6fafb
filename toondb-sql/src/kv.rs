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
        if let Some(w) = self.writes.get(key) {
            return Ok(w.clone());
        }
        Ok(self.txn.get(self.ks, key)?)
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
        let order = if reverse {
            ScanOrder::Reverse
        } else {
            ScanOrder::Forward
        };
        let base = self
            .txn
            .scan_range(self.ks, lower, upper, order)?
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
