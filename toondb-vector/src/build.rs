//! Our own parallel HNSW construction, straight into the flat arrays of a [`Segment`].
//!
//! The algorithm is hnswlib's: each slot gets a level `⌊−ln(U)·mL⌋` with `mL = 1/ln(m)`;
//! insertion descends greedily from the entry point through the layers above the slot's
//! level, then on each of its own layers runs an `ef_construction` beam search, keeps `m`
//! neighbours chosen by the diversity heuristic (hnswlib's `getNeighborsByHeuristic2`) and
//! links back from each of them, re-running the heuristic on a neighbour whose list is full
//! (`2·m` on layer 0, `m` above).
//!
//! Slots are inserted in parallel with rayon. Link words are `AtomicU32`s, so a search may
//! read a list while another thread rewrites it (it then sees a mix of old and new links, all
//! valid slots, which only costs a little quality, as in hnswlib); every write to a list
//! happens under that slot's lock, and no thread ever holds two slot locks at once, so there
//! is no deadlock. A new slot whose level is above the current top holds the entry-point lock
//! for its whole insertion, like hnswlib. No `unsafe`.

use std::cell::RefCell;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use parking_lot::Mutex;
use rayon::prelude::*;

use crate::metric::DistanceMetric;
use crate::params::MAX_M;
use crate::segment::{Cand, MAX_LAYERS, MinCand, Segment, Visited};

/// Per-thread state of an insertion, reused across insertions.
#[derive(Default)]
struct BuildScratch {
    visited: Visited,
    candidates: BinaryHeap<MinCand>,
    top: BinaryHeap<Cand>,
    sorted: Vec<Cand>,
    selected: Vec<Cand>,
    prune_in: Vec<Cand>,
    prune_out: Vec<Cand>,
}

impl BuildScratch {
    fn reset(&mut self, n: usize) {
        self.visited.reset(n);
        self.candidates.clear();
        self.top.clear();
    }
}

thread_local! {
    static BUILD_SCRATCH: RefCell<BuildScratch> = RefCell::new(BuildScratch::default());
}

/// The level of `slot`: `⌊−ln(U)·mL⌋` with `U` from a hash of the slot (deterministic).
fn level_of(slot: usize, ml: f64) -> u8 {
    // splitmix64
    let mut z = (slot as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    // U in (0, 1].
    let u = ((z >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    let level = (-u.ln() * ml).floor();
    if level >= (MAX_LAYERS - 1) as f64 {
        (MAX_LAYERS - 1) as u8
    } else {
        level as u8
    }
}

/// Entry point of the graph under construction.
struct Top {
    entry: u32,
    max_level: u8,
}

struct Builder<'a> {
    metric: DistanceMetric,
    dim: usize,
    m: usize,
    ef: usize,
    vectors: &'a [f32],
    levels: &'a [u8],
    level0: Vec<AtomicU32>,
    upper_offsets: &'a [u32],
    upper: Vec<AtomicU32>,
    locks: Vec<Mutex<()>>,
    top: Mutex<Top>,
}

impl Builder<'_> {
    #[inline]
    fn vector(&self, slot: u32) -> &[f32] {
        let s = slot as usize * self.dim;
        &self.vectors[s..s + self.dim]
    }
    #[inline]
    fn dist(&self, a: u32, b: u32) -> f32 {
        self.metric.raw(self.vector(a), self.vector(b))
    }
    #[inline]
    fn cap(&self, level: usize) -> usize {
        if level == 0 { 2 * self.m } else { self.m }
    }
    /// The `[count, links…]` block of `slot` on `level`.
    #[inline]
    fn block(&self, slot: u32, level: usize) -> &[AtomicU32] {
        if level == 0 {
            let stride = 2 * self.m + 1;
            let s = slot as usize * stride;
            &self.level0[s..s + stride]
        } else {
            let s = self.upper_offsets[slot as usize] as usize + (level - 1) * (self.m + 1);
            &self.upper[s..s + self.m + 1]
        }
    }
    /// Copies the links of `slot` on `level` into `buf`; returns how many.
    #[inline]
    fn read_links(&self, slot: u32, level: usize, buf: &mut [u32; 2 * MAX_M]) -> usize {
        let block = self.block(slot, level);
        let c = (block[0].load(Relaxed) as usize).min(self.cap(level));
        for (dst, src) in buf[..c].iter_mut().zip(&block[1..1 + c]) {
            *dst = src.load(Relaxed);
        }
        c
    }
    /// Writes `links` (at most the level's capacity) as the list of `slot` on `level`. The
    /// caller holds the slot's lock.
    fn write_links(&self, slot: u32, level: usize, links: impl Iterator<Item = u32>) {
        let block = self.block(slot, level);
        let mut c = 0;
        for (dst, l) in block[1..].iter().zip(links) {
            dst.store(l, Relaxed);
            c += 1;
        }
        block[0].store(c as u32, Relaxed);
    }

    /// Greedy descent on `level` from `cur` towards the vector of `q`.
    fn greedy(&self, q: u32, mut cur: u32, mut cur_d: f32, level: usize) -> (u32, f32) {
        let mut buf = [0u32; 2 * MAX_M];
        loop {
            let mut changed = false;
            let c = self.read_links(cur, level, &mut buf);
            for &nb in &buf[..c] {
                let d = self.dist(q, nb);
                if d < cur_d {
                    cur_d = d;
                    cur = nb;
                    changed = true;
                }
            }
            if !changed {
                return (cur, cur_d);
            }
        }
    }

    /// Beam search of width `ef` on `level` from `ep`; leaves the results in `s.sorted`, best
    /// first.
    fn search_layer(&self, q: u32, ep: u32, ep_d: f32, level: usize, s: &mut BuildScratch) {
        let qv = self.vector(q);
        s.reset(self.levels.len());
        s.visited.visit(ep);
        s.visited.visit(q);
        let first = Cand { d: ep_d, slot: ep };
        s.candidates.push(MinCand(first));
        s.top.push(first);
        let mut bound = ep_d;
        let mut buf = [0u32; 2 * MAX_M];
        while let Some(MinCand(c)) = s.candidates.pop() {
            if c.d > bound && s.top.len() >= self.ef {
                break;
            }
            let n = self.read_links(c.slot, level, &mut buf);
            for i in 0..n {
                let nb = buf[i];
                if i + 1 < n {
                    prefetch(self.vector(buf[i + 1]));
                }
                if !s.visited.visit(nb) {
                    continue;
                }
                let d = self.metric.raw(qv, self.vector(nb));
                if s.top.len() < self.ef || d < bound {
                    let cand = Cand { d, slot: nb };
                    s.candidates.push(MinCand(cand));
                    s.top.push(cand);
                    if s.top.len() > self.ef {
                        s.top.pop();
                    }
                    if let Some(t) = s.top.peek() {
                        bound = t.d;
                    }
                }
            }
        }
        s.sorted.clear();
        s.sorted.extend(s.top.drain());
        s.sorted.sort_unstable();
    }

    /// hnswlib's `getNeighborsByHeuristic2`: from `input` (best first), keeps a candidate
    /// only if it is closer to the base than to every candidate already kept, up to `max`.
    /// Exact copies of the base are the exception (see below).
    fn heuristic(&self, input: &[Cand], max: usize, out: &mut Vec<Cand>) {
        out.clear();
        if input.len() < max {
            out.extend_from_slice(input);
            return;
        }
        let mut duplicates = 0;
        for &c in input {
            if out.len() >= max {
                break;
            }
            // A copy of the base (distance 0) would block every other candidate and a group of
            // copies would link only among itself: keep copies for at most half the links,
            // and let them block nothing.
            if c.d <= 0.0 {
                if duplicates < max.div_ceil(2) {
                    out.push(c);
                    duplicates += 1;
                }
                continue;
            }
            let cv = self.vector(c.slot);
            if out
                .iter()
                .all(|kept| kept.d <= 0.0 || self.metric.raw(cv, self.vector(kept.slot)) >= c.d)
            {
                out.push(c);
            }
        }
    }

    /// Links `q` on `level` to the neighbours chosen from `s.sorted`, and them back to it.
    /// Returns the closest neighbour (the entry point for the next layer down).
    fn connect(&self, q: u32, level: usize, s: &mut BuildScratch) -> Option<Cand> {
        let mut selected = std::mem::take(&mut s.selected);
        self.heuristic(&s.sorted, self.m, &mut selected);
        {
            let _g = self.locks[q as usize].lock();
            // Another thread may already have linked itself to `q` on this layer: keep those.
            let mut buf = [0u32; 2 * MAX_M];
            let c = self.read_links(q, level, &mut buf);
            let extra = buf[..c]
                .iter()
                .copied()
                .filter(|x| !selected.iter().any(|sel| sel.slot == *x));
            self.write_links(q, level, selected.iter().map(|c| c.slot).chain(extra));
        }
        let cap = self.cap(level);
        for nb in &selected {
            let _g = self.locks[nb.slot as usize].lock();
            let block = self.block(nb.slot, level);
            let c = (block[0].load(Relaxed) as usize).min(cap);
            if block[1..1 + c].iter().any(|l| l.load(Relaxed) == q) {
                continue;
            }
            if c < cap {
                block[1 + c].store(q, Relaxed);
                block[0].store(c as u32 + 1, Relaxed);
                continue;
            }
            // Full: keep the best `cap` of the old links plus `q` by the heuristic.
            let nv = self.vector(nb.slot);
            s.prune_in.clear();
            s.prune_in.push(Cand { d: nb.d, slot: q });
            for l in &block[1..1 + c] {
                let slot = l.load(Relaxed);
                s.prune_in.push(Cand {
                    d: self.metric.raw(nv, self.vector(slot)),
                    slot,
                });
            }
            s.prune_in.sort_unstable();
            let mut out = std::mem::take(&mut s.prune_out);
            self.heuristic(&s.prune_in, cap, &mut out);
            self.write_links(nb.slot, level, out.iter().map(|c| c.slot));
            s.prune_out = out;
        }
        let best = selected.first().copied();
        s.selected = selected;
        best
    }

    /// Inserts `q` into the graph (its vector is already in place).
    fn insert(&self, q: u32, s: &mut BuildScratch) {
        let level = self.levels[q as usize];
        let mut guard = Some(self.top.lock());
        let (entry, max_level) = guard.as_ref().map_or((0, 0), |t| (t.entry, t.max_level));
        // Only a new top-level slot keeps the entry-point lock for its whole insertion.
        if level <= max_level {
            guard = None;
        }
        let mut cur = entry;
        let mut cur_d = self.dist(q, cur);
        for l in ((level as usize + 1)..=max_level as usize).rev() {
            (cur, cur_d) = self.greedy(q, cur, cur_d, l);
        }
        for l in (0..=level.min(max_level) as usize).rev() {
            self.search_layer(q, cur, cur_d, l, s);
            if let Some(best) = self.connect(q, l, s) {
                (cur, cur_d) = (best.slot, best.d);
            }
        }
        if let Some(mut top) = guard {
            top.entry = q;
            top.max_level = level;
        }
    }
}

#[inline]
fn prefetch(v: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: prefetch is a hint; it never faults and the pointer is valid anyway.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(v.as_ptr().cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = v;
}

/// Builds a segment from prepared vectors (`ids.len()` rows of `dim`) with parameters already
/// validated, inserting in parallel on the current rayon pool and calling `progress(done,
/// total)` after each chunk.
pub(crate) fn build_segment(
    metric: DistanceMetric,
    m: usize,
    ef_construction: usize,
    dim: usize,
    ids: Vec<u64>,
    vectors: Vec<f32>,
    progress: &mut (dyn FnMut(usize, usize) + Send),
) -> Segment {
    let n = ids.len().min(vectors.len() / dim.max(1));
    let m = m.clamp(2, MAX_M);
    let ml = 1.0 / (m as f64).ln();
    let levels: Vec<u8> = (0..n).map(|slot| level_of(slot, ml)).collect();
    let Some((upper_offsets, total)) = Segment::layout_upper(&levels, m) else {
        // More upper-layer words than a u32 can address: cannot happen below MAX_SLOTS
        // (the expected size is n·(m+1)/(m−1) words), but never panic.
        return Segment {
            dim,
            m,
            ..Segment::default()
        };
    };
    let stride0 = 2 * m + 1;
    let builder = Builder {
        metric,
        dim,
        m,
        ef: ef_construction.max(m),
        vectors: &vectors,
        levels: &levels,
        level0: (0..n * stride0).map(|_| AtomicU32::new(0)).collect(),
        upper_offsets: &upper_offsets,
        upper: (0..total).map(|_| AtomicU32::new(0)).collect(),
        locks: (0..n).map(|_| Mutex::new(())).collect(),
        top: Mutex::new(Top {
            entry: 0,
            max_level: levels.first().copied().unwrap_or(0),
        }),
    };
    // Slot 0 is the first entry point; the others are inserted in parallel.
    const CHUNK: usize = 8192;
    let mut done = 1.min(n);
    while done < n {
        let end = (done + CHUNK).min(n);
        (done as u32..end as u32).into_par_iter().for_each(|q| {
            BUILD_SCRATCH.with(|cell| match cell.try_borrow_mut() {
                Ok(mut s) => builder.insert(q, &mut s),
                Err(_) => builder.insert(q, &mut BuildScratch::default()),
            });
        });
        done = end;
        progress(done, n);
    }
    if n == 1 {
        progress(1, 1);
    }
    let Top { entry, max_level } = builder.top.into_inner();
    let level0: Vec<u32> = builder
        .level0
        .into_iter()
        .map(AtomicU32::into_inner)
        .collect();
    let upper: Vec<u32> = builder
        .upper
        .into_iter()
        .map(AtomicU32::into_inner)
        .collect();
    let mut ids = ids;
    ids.truncate(n);
    let mut vectors = vectors;
    vectors.truncate(n * dim);
    Segment {
        dim,
        m,
        ids,
        vectors,
        deleted: vec![0; n.div_ceil(64)],
        deleted_count: 0,
        entry: if n > 0 { entry } else { 0 },
        max_level: if n > 0 { max_level } else { 0 },
        levels,
        level0,
        upper_offsets,
        upper,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random rows in `[-1, 1)`.
    fn rows(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n * dim)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 40) as f32 / (1u64 << 23) as f32 - 1.0
            })
            .collect()
    }

    fn build(n: usize, dim: usize, m: usize, metric: DistanceMetric) -> Segment {
        let vectors = rows(n, dim, 7);
        let ids = (0..n as u64).collect();
        build_segment(metric, m, 64, dim, ids, vectors, &mut |_, _| {})
    }

    #[test]
    fn levels_follow_the_geometric_distribution() {
        let m = 16;
        let ml = 1.0 / (m as f64).ln();
        let n = 200_000;
        let levels: Vec<u8> = (0..n).map(|s| level_of(s, ml)).collect();
        let above0 = levels.iter().filter(|&&l| l >= 1).count() as f64 / n as f64;
        let above1 = levels.iter().filter(|&&l| l >= 2).count() as f64 / n as f64;
        // P(level ≥ k) = m^-k.
        assert!((above0 - 1.0 / 16.0).abs() < 0.005, "{above0}");
        assert!((above1 - 1.0 / 256.0).abs() < 0.001, "{above1}");
        assert!(levels.iter().all(|&l| (l as usize) < MAX_LAYERS));
        assert_eq!(level_of(12345, ml), level_of(12345, ml), "deterministic");
    }

    #[test]
    fn the_graph_is_well_formed_and_connected() {
        let (n, dim, m) = (4000, 8, 6);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        let seg = pool.install(|| build(n, dim, m, DistanceMetric::Euclidean));
        assert_eq!(seg.len(), n);
        let top = *seg.levels.iter().max().unwrap();
        assert_eq!(seg.max_level, top);
        assert_eq!(seg.levels[seg.entry as usize], top);
        for slot in 0..n as u32 {
            for l in 0..=seg.levels[slot as usize] as usize {
                let links = seg.links(slot, l);
                assert!(links.len() <= if l == 0 { 2 * m } else { m });
                let mut sorted = links.to_vec();
                sorted.sort_unstable();
                sorted.dedup();
                assert_eq!(sorted.len(), links.len(), "no duplicate link");
                for &t in links {
                    assert_ne!(t, slot, "no self link");
                    assert!(seg.levels[t as usize] as usize >= l, "link to a lower node");
                }
            }
            if n > 1 {
                assert!(!seg.links(slot, 0).is_empty(), "slot {slot} has no link");
            }
        }
        // Every slot is reachable on layer 0 from the entry point.
        let mut seen = vec![false; n];
        let mut stack = vec![seg.entry];
        seen[seg.entry as usize] = true;
        while let Some(s) = stack.pop() {
            for &t in seg.links(s, 0) {
                if !std::mem::replace(&mut seen[t as usize], true) {
                    stack.push(t);
                }
            }
        }
        // A parallel build's graph depends on thread timing; like hnswlib's, it does not
        // guarantee that every node stays reachable (one run reached 3,995 of 4,000), so
        // the bar is 99.5%; recall tests cover search quality.
        let reached = seen.iter().filter(|&&b| b).count();
        assert!(reached * 1000 >= n * 995, "{reached} of {n} reachable");
    }

    #[test]
    fn search_finds_every_stored_vector_itself() {
        let (n, dim) = (3000, 16);
        let seg = build(n, dim, 8, DistanceMetric::Euclidean);
        let mut hits = 0;
        crate::segment::with_scratch(|sc| {
            for slot in 0..n as u32 {
                let found = seg.search(
                    DistanceMetric::Euclidean,
                    seg.vector(slot),
                    16,
                    |_| true,
                    sc,
                );
                hits += usize::from(found.first().is_some_and(|c| c.d == 0.0));
            }
        });
        assert!(hits * 100 >= n * 99, "{hits} of {n} found themselves");
    }

    #[test]
    fn tiny_and_empty_inputs() {
        for n in [0, 1, 2, 3] {
            let seg = build(n, 4, 2, DistanceMetric::Cosine);
            assert_eq!(seg.len(), n);
            if n == 2 {
                assert_eq!(seg.links(0, 0), &[1]);
                assert_eq!(seg.links(1, 0), &[0]);
            }
        }
    }
}
