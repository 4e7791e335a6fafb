//! A transaction's buffered writes to one keyspace.
//!
//! The buffer is built for the two ways a transaction uses its writes: point reads of its
//! own writes (a uniqueness check before each insert, say), which must be cheap however many
//! writes the transaction holds, and ordered reads (scans that merge own writes over the
//! snapshot, and the commit, which applies writes in key order), which are far rarer.
//!
//! * Keys and values live in one byte arena, so a write costs no allocation of its own and
//!   dropping the buffer frees a few large blocks instead of two per write. An overwrite
//!   reuses the old value's bytes when the new value fits, and appends it otherwise; once
//!   replaced values make up most of the arena, the live bytes are copied into a new one.
//! * A hash table over the arena finds a key's entry for point reads and overwrites.
//! * Key order is kept lazily as sorted runs of entry ids. New keys join the order at the
//!   next ordered read, sorted as one new run; runs of similar length are then merged
//!   (each key is moved O(log n) times over the buffer's life), so a transaction that
//!   alternates writes and scans does not sort everything again on each scan. An ordered
//!   read merges the (logarithmically many) runs as it goes.
//! * Marks (a transaction's savepoints) let a caller undo the writes made since: while a
//!   mark is set, an overwrite of an older entry logs the value it replaces and appends the
//!   new value instead of reusing the old bytes, and runs made after the mark are not
//!   merged into older ones, so a rollback restores the logged values, drops the newer
//!   entries from the hash table, truncates the arena and the entry list, and filters only
//!   the runs made since the mark. Each costs what the writes since the mark cost.

use std::cmp::Ordering;
use std::hash::BuildHasher;
use std::ops::Bound;
use std::sync::Arc;

use hashbrown::HashTable;
use parking_lot::Mutex;

use crate::txn::ScanOrder;

/// Where a key or value sits in the arena.
#[derive(Clone, Copy)]
struct Span {
    start: usize,
    len: u32,
}

impl Span {
    /// The bytes of the span in `arena`.
    fn of(self, arena: &[u8]) -> &[u8] {
        &arena[self.start..self.start + self.len as usize]
    }
}

/// One key's latest write: its key and its value (`None` for a delete).
#[derive(Clone, Copy)]
struct Entry {
    key: Span,
    value: Option<Span>,
}

/// Key order of the entries: sorted runs of entry ids, oldest (longest) first; together
/// they hold the ids `0..covered`.
#[derive(Default)]
struct Order {
    runs: Vec<Arc<[u32]>>,
    covered: usize,
}

/// The state of a buffer when a mark was set.
#[derive(Clone, Copy)]
struct Mark {
    entries: usize,
    arena: usize,
    undo: usize,
    /// Runs at the mark: runs past these hold ids of the mark's writes, and are not
    /// merged into these while the mark is set.
    runs: usize,
}

/// A transaction's writes to one keyspace: key → latest value (`None` deletes).
#[derive(Default)]
pub(crate) struct WriteBuf {
    arena: Vec<u8>,
    entries: Vec<Entry>,
    /// Entry ids with their keys' hashes, so that growing the table does not hash the
    /// keys again.
    index: HashTable<(u64, u32)>,
    hasher: foldhash::fast::RandomState,
    order: Mutex<Order>,
    /// Set marks, innermost last.
    marks: Vec<Mark>,
    /// The values that writes since the outermost mark replaced: (entry id, old value).
    undo: Vec<(u32, Option<Span>)>,
    /// Arena bytes no entry refers to any more (replaced values), roughly.
    garbage: usize,
}

/// Replaced bytes below which the arena is never compacted (small under test, so that
/// the model tests compact often).
const COMPACT_MIN: usize = if cfg!(test) { 256 } else { 1 << 16 };

impl WriteBuf {
    /// How many keys the buffer holds (deletes included).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn bytes(&self, span: Span) -> &[u8] {
        span.of(&self.arena)
    }

    fn key(&self, id: u32) -> &[u8] {
        self.bytes(self.entries[id as usize].key)
    }

    fn value(&self, id: u32) -> Option<&[u8]> {
        self.entries[id as usize].value.map(|s| self.bytes(s))
    }

    fn push_bytes(&mut self, bytes: &[u8]) -> Span {
        let start = self.arena.len();
        self.arena.extend_from_slice(bytes);
        // Keys and values are checked against `MAX_KEY_LEN` / `MAX_VALUE_LEN` (far below
        // 4 GiB) before they reach a buffer.
        Span {
            start,
            len: bytes.len() as u32,
        }
    }

    fn find(&self, key: &[u8]) -> Option<u32> {
        self.find_hashed(self.hasher.hash_one(key), key)
    }

    fn find_hashed(&self, hash: u64, key: &[u8]) -> Option<u32> {
        self.index
            .find(hash, |&(h, id)| h == hash && self.key(id) == key)
            .map(|&(_, id)| id)
    }

    /// The buffered write of `key`: `Some(Some(value))` for a put, `Some(None)` for a
    /// delete, `None` when the buffer holds nothing for `key`.
    pub(crate) fn get(&self, key: &[u8]) -> Option<Option<&[u8]>> {
        self.find(key).map(|id| self.value(id))
    }

    pub(crate) fn contains_key(&self, key: &[u8]) -> bool {
        self.find(key).is_some()
    }

    /// Buffers a write of `key`: `Some(value)` puts, `None` deletes. A later write of a key
    /// replaces the earlier one.
    pub(crate) fn insert(&mut self, key: &[u8], value: Option<&[u8]>) {
        let hash = self.hasher.hash_one(key);
        if let Some(id) = self.find_hashed(hash, key) {
            let old = self.entries[id as usize].value;
            // The first overwrite since the innermost mark of an entry older than the mark
            // logs the value it replaces, whose bytes stay as they are for a rollback.
            let logged = self.marks.last().is_some_and(|m| {
                (id as usize) < m.entries && old.is_none_or(|o| o.start < m.arena)
            });
            if logged {
                self.undo.push((id, old));
            }
            let new = match (old, value) {
                // Reuse the old value's bytes when the new value fits there.
                (Some(old), Some(v)) if !logged && v.len() <= old.len as usize => {
                    self.arena[old.start..old.start + v.len()].copy_from_slice(v);
                    self.garbage += old.len as usize - v.len();
                    Some(Span {
                        start: old.start,
                        len: v.len() as u32,
                    })
                }
                (old, v) => {
                    // A logged value becomes garbage when its mark is released.
                    if !logged && let Some(old) = old {
                        self.garbage += old.len as usize;
                    }
                    v.map(|v| self.push_bytes(v))
                }
            };
            self.entries[id as usize].value = new;
            if self.marks.is_empty() {
                self.maybe_compact();
            }
            return;
        }
        let entry = Entry {
            key: self.push_bytes(key),
            value: value.map(|v| self.push_bytes(v)),
        };
        // Entry ids are `u32`: a transaction buffering four billion writes has long run
        // out of memory for their bytes.
        let id = self.entries.len() as u32;
        self.entries.push(entry);
        self.index.insert_unique(hash, (hash, id), |&(h, _)| h);
    }

    /// Sets a mark that [`WriteBuf::rollback`] returns to.
    pub(crate) fn mark(&mut self) {
        let runs = self.order.get_mut().runs.len();
        self.marks.push(Mark {
            entries: self.entries.len(),
            arena: self.arena.len(),
            undo: self.undo.len(),
            runs,
        });
    }

    /// Drops the innermost mark, keeping the writes made since.
    pub(crate) fn release(&mut self) {
        self.marks.pop();
        if self.marks.is_empty() {
            let replaced: usize = self
                .undo
                .iter()
                .filter_map(|(_, v)| *v)
                .map(|v| v.len as usize)
                .sum();
            self.garbage += replaced;
            self.undo.clear();
            // Runs kept apart while the mark was set may merge again.
            let order = self.order.get_mut();
            Self::merge_runs(&self.arena, &self.entries, order, 0);
            self.maybe_compact();
        }
    }

    /// Copies the live keys and values into a new arena once replaced values make up
    /// most of it, so that a transaction overwriting the same keys again and again holds
    /// about the bytes of its latest values (each byte is copied O(1) times amortized).
    fn maybe_compact(&mut self) {
        if self.garbage < COMPACT_MIN || self.garbage * 2 < self.arena.len() {
            return;
        }
        let mut arena = Vec::with_capacity(self.arena.len().saturating_sub(self.garbage));
        let mut move_span = |span: Span| {
            let start = arena.len();
            arena.extend_from_slice(span.of(&self.arena));
            Span {
                start,
                len: span.len,
            }
        };
        for e in &mut self.entries {
            e.key = move_span(e.key);
            e.value = e.value.map(&mut move_span);
        }
        self.arena = arena;
        self.garbage = 0;
    }

    /// Undoes the writes made since the innermost mark and drops the mark.
    pub(crate) fn rollback(&mut self) {
        let Some(mark) = self.marks.pop() else {
            return;
        };
        for (id, old) in self.undo.drain(mark.undo..).rev() {
            self.entries[id as usize].value = old;
        }
        for id in mark.entries..self.entries.len() {
            let key = self.bytes(self.entries[id].key);
            let hash = self.hasher.hash_one(key);
            if let Ok(e) = self.index.find_entry(hash, |&(_, i)| i as usize == id) {
                e.remove();
            }
        }
        self.entries.truncate(mark.entries);
        self.arena.truncate(mark.arena);
        // What was counted as replaced since the mark may have gone with the truncation.
        self.garbage = self.garbage.min(self.arena.len());
        let order = self.order.get_mut();
        if order.covered > mark.entries {
            // Runs made since the mark were never merged into older ones; the first of
            // them may also hold older entries that were not in a run yet.
            for run in &mut order.runs[mark.runs..] {
                if run.iter().any(|&id| id as usize >= mark.entries) {
                    *run = run
                        .iter()
                        .copied()
                        .filter(|&id| (id as usize) < mark.entries)
                        .collect();
                }
            }
            order.runs.retain(|r| !r.is_empty());
            order.covered = mark.entries;
        }
    }

    /// Every entry, in no particular order.
    pub(crate) fn iter_unordered(&self) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> {
        (0..self.entries.len() as u32).map(|id| (self.key(id), self.value(id)))
    }

    /// The sorted runs covering every entry, sorting the entries written since the last
    /// ordered read into a new run first.
    fn runs(&self) -> Vec<Arc<[u32]>> {
        let mut order = self.order.lock();
        if order.covered < self.entries.len() {
            // Sorted with each key's bytes at hand, not looked up through its entry.
            let mut run: Vec<(&[u8], u32)> = (order.covered as u32..self.entries.len() as u32)
                .map(|id| (self.key(id), id))
                .collect();
            run.sort_unstable_by(|a, b| a.0.cmp(b.0));
            order.runs.push(run.into_iter().map(|(_, id)| id).collect());
            order.covered = self.entries.len();
            let floor = self.marks.last().map_or(0, |m| m.runs);
            Self::merge_runs(&self.arena, &self.entries, &mut order, floor);
        }
        order.runs.clone()
    }

    /// Merges the newest run into the one before it while they are of similar length, so
    /// that the runs' lengths at least double from newest to oldest; the first `floor`
    /// runs are left alone.
    fn merge_runs(arena: &[u8], entries: &[Entry], order: &mut Order, floor: usize) {
        while order.runs.len() >= floor + 2
            && let [.., older, newer] = order.runs.as_slice()
            && older.len() <= 2 * newer.len()
        {
            let merged = Self::merge(arena, entries, older, newer);
            order.runs.pop();
            order.runs.pop();
            order.runs.push(merged);
        }
    }

    fn merge(arena: &[u8], entries: &[Entry], a: &[u32], b: &[u32]) -> Arc<[u32]> {
        let key = |id: u32| entries[id as usize].key.of(arena);
        let mut out = Vec::with_capacity(a.len() + b.len());
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            // Keys are unique across runs: each entry id is in exactly one run.
            if key(a[i]) < key(b[j]) {
                out.push(a[i]);
                i += 1;
            } else {
                out.push(b[j]);
                j += 1;
            }
        }
        out.extend_from_slice(&a[i..]);
        out.extend_from_slice(&b[j..]);
        out.into()
    }

    /// The entries with keys between the bounds, in `order`.
    pub(crate) fn range<'a>(
        &'a self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        order: ScanOrder,
    ) -> Range<'a> {
        let runs = self.runs();
        let spans = runs
            .iter()
            .map(|run| {
                let from = run.partition_point(|&id| before_lower(self.key(id), lower));
                let to = run.partition_point(|&id| !after_upper(self.key(id), upper));
                (from, to.max(from))
            })
            .collect();
        Range {
            buf: self,
            runs,
            spans,
            order,
        }
    }

    /// Every entry in key order.
    pub(crate) fn iter(&self) -> Range<'_> {
        self.range(Bound::Unbounded, Bound::Unbounded, ScanOrder::Forward)
    }
}

fn before_lower(key: &[u8], lower: Bound<&[u8]>) -> bool {
    match lower {
        Bound::Included(l) => key < l,
        Bound::Excluded(l) => key <= l,
        Bound::Unbounded => false,
    }
}

fn after_upper(key: &[u8], upper: Bound<&[u8]>) -> bool {
    match upper {
        Bound::Included(u) => key > u,
        Bound::Excluded(u) => key >= u,
        Bound::Unbounded => false,
    }
}

/// An ordered read of a [`WriteBuf`]: merges its runs lazily.
pub(crate) struct Range<'a> {
    buf: &'a WriteBuf,
    runs: Vec<Arc<[u32]>>,
    /// Per run, the ids not yet yielded: `run[from..to]`.
    spans: Vec<(usize, usize)>,
    order: ScanOrder,
}

impl<'a> Iterator for Range<'a> {
    type Item = (&'a [u8], Option<&'a [u8]>);

    fn next(&mut self) -> Option<Self::Item> {
        let buf = self.buf;
        let mut best: Option<(usize, u32)> = None;
        for (r, &(from, to)) in self.spans.iter().enumerate() {
            if from == to {
                continue;
            }
            let id = match self.order {
                ScanOrder::Forward => self.runs[r][from],
                ScanOrder::Reverse => self.runs[r][to - 1],
            };
            let better = best.is_none_or(|(_, b)| {
                let ord = buf.key(id).cmp(buf.key(b));
                match self.order {
                    ScanOrder::Forward => ord == Ordering::Less,
                    ScanOrder::Reverse => ord == Ordering::Greater,
                }
            });
            if better {
                best = Some((r, id));
            }
        }
        let (r, id) = best?;
        match self.order {
            ScanOrder::Forward => self.spans[r].0 += 1,
            ScanOrder::Reverse => self.spans[r].1 -= 1,
        }
        Some((buf.key(id), buf.value(id)))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    type Model = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

    fn owned<'a>(it: impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)>) -> Model {
        it.map(|(k, v)| (k.to_vec(), v.map(<[u8]>::to_vec)))
            .collect()
    }

    fn bound(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
        match b {
            Bound::Included(k) => Bound::Included(k.as_slice()),
            Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
            Bound::Unbounded => Bound::Unbounded,
        }
    }

    fn random_bound(rng: &mut StdRng) -> Bound<Vec<u8>> {
        let k = format!("{:03}", rng.random_range(0..1000)).into_bytes();
        match rng.random_range(0..3) {
            0 => Bound::Included(k),
            1 => Bound::Excluded(k),
            _ => Bound::Unbounded,
        }
    }

    /// A put of a value of random length (up to 11 bytes) or, one time in five, a delete.
    fn random_write(
        rng: &mut StdRng,
        step: usize,
        key: Vec<u8>,
        buf: &mut WriteBuf,
        model: &mut Model,
    ) {
        let len = rng.random_range(0..12);
        let value = rng
            .random_bool(0.8)
            .then(|| vec![b'a' + (step % 26) as u8; len]);
        buf.insert(&key, value.as_deref());
        model.insert(key, value);
    }

    /// Random writes (new keys, overwrites of every length, deletes) interleaved with
    /// point reads and ranges in both orders, each checked against a `BTreeMap`.
    #[test]
    fn matches_a_btreemap() {
        let mut rng = StdRng::seed_from_u64(11);
        let mut buf = WriteBuf::default();
        let mut model = Model::new();
        for step in 0..20_000 {
            let key = format!("{:03}", rng.random_range(0..1000)).into_bytes();
            match rng.random_range(0..10) {
                0..=5 => random_write(&mut rng, step, key, &mut buf, &mut model),
                6..=7 => {
                    let want = model.get(&key).map(|v| v.as_deref());
                    assert_eq!(buf.get(&key), want, "get {key:?} at step {step}");
                    assert_eq!(buf.contains_key(&key), model.contains_key(&key));
                }
                _ => {
                    let (lo, hi) = (random_bound(&mut rng), random_bound(&mut rng));
                    let order = if rng.random_bool(0.5) {
                        ScanOrder::Forward
                    } else {
                        ScanOrder::Reverse
                    };
                    let got: Vec<_> = buf.range(bound(&lo), bound(&hi), order).collect();
                    let empty = crate::txn::range_is_empty(bound(&lo), bound(&hi));
                    let mut want: Vec<_> = if empty {
                        Vec::new()
                    } else {
                        model
                            .range::<Vec<u8>, _>((lo.clone(), hi.clone()))
                            .collect()
                    };
                    if order == ScanOrder::Reverse {
                        want.reverse();
                    }
                    assert_eq!(got.len(), want.len(), "range {lo:?}..{hi:?} at step {step}");
                    for ((gk, gv), (wk, wv)) in got.iter().zip(&want) {
                        assert_eq!((*gk, *gv), (wk.as_slice(), wv.as_deref()));
                    }
                }
            }
        }
        assert_eq!(owned(buf.iter()), model);
        assert_eq!(owned(buf.iter_unordered()), model);
        assert_eq!(buf.len(), model.len());
        let runs = buf.runs().len();
        assert!(runs <= 12, "{runs} runs for {} keys", buf.len());
    }

    /// Random writes, reads and ranges under nested marks, each rolled back or released
    /// at random: the buffer always equals a model that keeps a copy per mark.
    #[test]
    fn marks_roll_back_and_release_like_copies() {
        let mut rng = StdRng::seed_from_u64(5);
        let mut buf = WriteBuf::default();
        let mut model = Model::new();
        let mut saved: Vec<Model> = Vec::new();
        for step in 0..30_000 {
            let key = format!("{:03}", rng.random_range(0..600)).into_bytes();
            match rng.random_range(0..100) {
                0..=54 => random_write(&mut rng, step, key, &mut buf, &mut model),
                55..=69 => {
                    let want = model.get(&key).map(|v| v.as_deref());
                    assert_eq!(buf.get(&key), want, "get {key:?} at step {step}");
                }
                70..=84 => {
                    // An ordered read seals the new entries into a run.
                    let lo = random_bound(&mut rng);
                    let got = owned(buf.range(bound(&lo), Bound::Unbounded, ScanOrder::Forward));
                    let want: Model = model
                        .range::<Vec<u8>, _>((lo.clone(), Bound::Unbounded))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    assert_eq!(got, want, "range from {lo:?} at step {step}");
                }
                85..=89 if saved.len() < 4 => {
                    buf.mark();
                    saved.push(model.clone());
                }
                90..=94 if !saved.is_empty() => {
                    buf.rollback();
                    model = saved.pop().expect("a mark is set");
                    assert_eq!(owned(buf.iter()), model, "rollback at step {step}");
                }
                95..=99 if !saved.is_empty() => {
                    buf.release();
                    saved.pop();
                }
                _ => {}
            }
        }
        while saved.pop().is_some() {
            buf.release();
        }
        assert_eq!(owned(buf.iter()), model);
        assert_eq!(owned(buf.iter_unordered()), model);
        assert_eq!(buf.len(), model.len());
        assert!(
            buf.arena.len() < 200_000,
            "arena of {} bytes",
            buf.arena.len()
        );
        let runs = buf.runs().len();
        assert!(runs <= 14, "{runs} runs for {} keys", buf.len());
    }

    /// A statement per key, each under a mark that its rowid-style scan seals into a run
    /// (the SQL layer's pattern): the runs stay few, and a failing statement's rollback
    /// costs only its own writes.
    #[test]
    fn a_mark_per_write_keeps_few_runs() {
        let mut buf = WriteBuf::default();
        for i in 0..5000u32 {
            buf.mark();
            let last = buf
                .range(Bound::Unbounded, Bound::Unbounded, ScanOrder::Reverse)
                .next()
                .map(|(k, _)| k.to_vec());
            assert_eq!(last, i.checked_sub(1).map(|p| p.to_be_bytes().to_vec()));
            buf.insert(&i.to_be_bytes(), Some(b"row"));
            if i % 7 == 3 {
                buf.insert(b"\xff", Some(b"doomed"));
                buf.rollback();
                buf.mark();
                buf.insert(&i.to_be_bytes(), Some(b"row"));
            }
            buf.release();
        }
        assert!(buf.runs().len() <= 14, "{} runs", buf.runs().len());
        let keys: Vec<Vec<u8>> = buf.iter().map(|(k, _)| k.to_vec()).collect();
        let want: Vec<Vec<u8>> = (0..5000u32).map(|i| i.to_be_bytes().to_vec()).collect();
        assert_eq!(keys, want);
    }

    /// Statements that overwrite the same keys, some rolled back: the arena holds about
    /// the latest values, not every value ever written.
    #[test]
    fn overwrites_under_marks_keep_the_arena_small() {
        let mut buf = WriteBuf::default();
        for round in 0..20_000u32 {
            buf.mark();
            for k in 0..10u8 {
                buf.insert(&[k], Some(&[round as u8; 100]));
                buf.insert(&[k], Some(&[round as u8; 100]));
            }
            if round % 5 == 0 {
                buf.rollback();
            } else {
                buf.release();
            }
            // And without a mark.
            buf.insert(b"plain", Some(&vec![1; 10 + round as usize % 90]));
        }
        // About 1.1 KiB live.
        assert!(
            buf.arena.len() < 16 << 10,
            "arena of {} bytes",
            buf.arena.len()
        );
        for k in 0..10u8 {
            assert_eq!(buf.get(&[k]), Some(Some(&[(19_999u32 as u8); 100][..])));
        }
        assert_eq!(
            buf.get(b"plain"),
            Some(Some(&vec![1; 10 + 19_999 % 90][..]))
        );
    }

    /// Writes appended after every ordered read keep few runs, and the order holds.
    #[test]
    fn alternating_writes_and_scans_keep_few_runs() {
        let mut buf = WriteBuf::default();
        for i in (0..5000u32).rev() {
            buf.insert(&i.to_be_bytes(), Some(b"v"));
            let first = buf
                .range(Bound::Unbounded, Bound::Unbounded, ScanOrder::Forward)
                .next()
                .map(|(k, _)| k.to_vec());
            assert_eq!(first, Some(i.to_be_bytes().to_vec()));
        }
        assert!(buf.runs().len() <= 14);
        let keys: Vec<Vec<u8>> = buf.iter().map(|(k, _)| k.to_vec()).collect();
        let want: Vec<Vec<u8>> = (0..5000u32).map(|i| i.to_be_bytes().to_vec()).collect();
        assert_eq!(keys, want);
    }
}
