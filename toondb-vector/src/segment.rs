//! A frozen segment: vectors and an HNSW graph in flat arrays, searched by our own code.
//!
//! Batch builds write the graph straight into these arrays (`crate::build`); the write buffer's
//! hnsw_rs graph is copied into them when it is sealed ([`Segment::from_hnsw`]), and hnsw_rs's
//! structure, with its second copy of every vector and its `Arc` per link, is dropped.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

use hnsw_rs::hnsw::Hnsw;

use crate::metric::{BuildDistance, DistanceMetric};

/// Max layers hnsw_rs builds (its `NB_LAYER_MAX`).
pub(crate) const MAX_LAYERS: usize = 16;

/// A (distance, slot) pair ordered by distance, ties by slot.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Cand {
    pub(crate) d: f32,
    pub(crate) slot: u32,
}
impl Eq for Cand {}
impl Ord for Cand {
    fn cmp(&self, o: &Self) -> Ordering {
        self.d.total_cmp(&o.d).then(self.slot.cmp(&o.slot))
    }
}
impl PartialOrd for Cand {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// Reversed order, for a min-heap of candidates.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct MinCand(pub(crate) Cand);
impl Ord for MinCand {
    fn cmp(&self, o: &Self) -> Ordering {
        o.0.cmp(&self.0)
    }
}
impl PartialOrd for MinCand {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// A set of visited slots that empties in O(1): a slot is visited when its stamp equals
/// the current generation, and a reset moves to the next generation.
#[derive(Default)]
pub(crate) struct Visited {
    stamps: Vec<u32>,
    generation: u32,
}

impl Visited {
    /// Empties the set and makes room for slots `0..n`.
    pub(crate) fn reset(&mut self, n: usize) {
        if self.stamps.len() < n {
            self.stamps.resize(n, 0);
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamps.iter_mut().for_each(|s| *s = 0);
            self.generation = 1;
        }
    }

    /// Marks `slot` visited; returns whether it was not visited before.
    #[inline]
    pub(crate) fn visit(&mut self, slot: u32) -> bool {
        let s = &mut self.stamps[slot as usize];
        if *s == self.generation {
            false
        } else {
            *s = self.generation;
            true
        }
    }
}

/// Per-thread search state, reused so a search allocates only its result.
#[derive(Default)]
pub(crate) struct Scratch {
    visited: Visited,
    candidates: BinaryHeap<MinCand>,
    results: BinaryHeap<Cand>,
}

impl Scratch {
    fn reset(&mut self, n: usize) {
        self.visited.reset(n);
        self.candidates.clear();
        self.results.clear();
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's scratch (a fresh one if it is already in use, e.g. when a filter
/// predicate searches again).
pub(crate) fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut s) => f(&mut s),
        Err(_) => f(&mut Scratch::default()),
    })
}

/// Keeps the `k` smallest candidates.
pub(crate) struct TopK {
    k: usize,
    heap: BinaryHeap<Cand>,
}
impl TopK {
    pub(crate) fn new(k: usize) -> Self {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k.min(4096) + 1),
        }
    }
    #[inline]
    pub(crate) fn worst(&self) -> f32 {
        if self.heap.len() < self.k {
            f32::INFINITY
        } else {
            self.heap.peek().map_or(f32::INFINITY, |c| c.d)
        }
    }
    #[inline]
    pub(crate) fn push(&mut self, c: Cand) {
        if self.heap.len() < self.k {
            self.heap.push(c);
        } else if let Some(top) = self.heap.peek()
            && c < *top
        {
            self.heap.pop();
            self.heap.push(c);
        }
    }
    pub(crate) fn into_sorted(self) -> Vec<Cand> {
        self.heap.into_sorted_vec()
    }
}

/// Vectors, ids, tombstones and a flat HNSW graph.
#[derive(Debug, Clone, Default)]
pub(crate) struct Segment {
    pub(crate) dim: usize,
    /// `m`; layer 0 holds up to `2·m` links.
    pub(crate) m: usize,
    /// External id per slot.
    pub(crate) ids: Vec<u64>,
    /// `ids.len() × dim` stored vectors.
    pub(crate) vectors: Vec<f32>,
    /// Tombstone bitset, one bit per slot.
    pub(crate) deleted: Vec<u64>,
    pub(crate) deleted_count: usize,
    /// Entry point (meaningful when the segment is not empty).
    pub(crate) entry: u32,
    pub(crate) max_level: u8,
    /// Level of each slot.
    pub(crate) levels: Vec<u8>,
    /// Per slot `[count, link × 2m]`.
    pub(crate) level0: Vec<u32>,
    /// Per slot, start of its upper-layer blocks in `upper` (unused for level-0 slots).
    pub(crate) upper_offsets: Vec<u32>,
    /// Per slot of level `L > 0`, `L` blocks `[count, link × m]` for layers 1..=L.
    pub(crate) upper: Vec<u32>,
}

impl Segment {
    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }
    pub(crate) fn live(&self) -> usize {
        self.ids.len() - self.deleted_count
    }
    #[inline]
    pub(crate) fn vector(&self, slot: u32) -> &[f32] {
        let s = slot as usize * self.dim;
        &self.vectors[s..s + self.dim]
    }
    #[inline]
    pub(crate) fn is_deleted(&self, slot: u32) -> bool {
        self.deleted[slot as usize / 64] >> (slot % 64) & 1 == 1
    }
    pub(crate) fn delete(&mut self, slot: u32) {
        if !self.is_deleted(slot) {
            self.deleted[slot as usize / 64] |= 1 << (slot % 64);
            self.deleted_count += 1;
        }
    }
    #[inline]
    fn stride0(&self) -> usize {
        2 * self.m + 1
    }
    #[inline]
    pub(crate) fn links(&self, slot: u32, level: usize) -> &[u32] {
        let block = if level == 0 {
            let s = slot as usize * self.stride0();
            &self.level0[s..s + self.stride0()]
        } else {
            let s = self.upper_offsets[slot as usize] as usize + (level - 1) * (self.m + 1);
            &self.upper[s..s + self.m + 1]
        };
        &block[1..1 + block[0] as usize]
    }

    /// Computes `upper_offsets` from `levels`; returns the length `upper` must have.
    pub(crate) fn layout_upper(levels: &[u8], m: usize) -> Option<(Vec<u32>, usize)> {
        let mut offsets = Vec::with_capacity(levels.len());
        let mut total = 0usize;
        for &l in levels {
            offsets.push(u32::try_from(total).ok()?);
            total = total.checked_add(l as usize * (m + 1))?;
        }
        u32::try_from(total).ok()?;
        Some((offsets, total))
    }

    /// Copies the graph out of hnsw_rs. Origin ids in `hnsw` must be the slots `0..ids.len()`.
    pub(crate) fn from_hnsw(
        hnsw: &Hnsw<'static, f32, BuildDistance>,
        m: usize,
        dim: usize,
        ids: Vec<u64>,
        vectors: Vec<f32>,
    ) -> Segment {
        let n = ids.len();
        let stride0 = 2 * m + 1;
        let mut levels = vec![0u8; n];
        let mut level0 = vec![0u32; n * stride0];
        let mut uppers: Vec<(usize, Vec<Vec<u32>>)> = Vec::new();
        let mut entry = 0u32;
        let mut max_level = 0u8;
        let mut seen_any = false;
        if hnsw.get_nb_point() > 0 {
            for point in hnsw.get_point_indexation() {
                let slot = point.get_origin_id();
                if slot >= n {
                    continue;
                }
                let level = point.get_point_id().0.min(MAX_LAYERS as u8 - 1);
                levels[slot] = level;
                if !seen_any || level > max_level {
                    max_level = level;
                    entry = slot as u32;
                    seen_any = true;
                }
                let hood = point.get_neighborhood_id();
                let mut up = Vec::new();
                for (l, layer) in hood.iter().enumerate().take(level as usize + 1) {
                    let cap = if l == 0 { 2 * m } else { m };
                    let links: Vec<u32> = layer
                        .iter()
                        .map(|nb| nb.d_id)
                        .filter(|&d| d < n && d != slot)
                        .take(cap)
                        .map(|d| d as u32)
                        .collect();
                    if l == 0 {
                        let base = slot * stride0;
                        level0[base] = links.len() as u32;
                        level0[base + 1..base + 1 + links.len()].copy_from_slice(&links);
                    } else {
                        up.push(links);
                    }
                }
                if level > 0 {
                    up.resize(level as usize, Vec::new());
                    uppers.push((slot, up));
                }
            }
        }
        let (upper_offsets, total) = Segment::layout_upper(&levels, m).unwrap_or_default();
        let mut upper = vec![0u32; total];
        for (slot, layers) in uppers {
            let mut off = upper_offsets[slot] as usize;
            for (l, mut links) in layers.into_iter().enumerate() {
                // hnsw_rs sometimes links a new top-level point to the old entry point on layers
                // above that point's own level; such links cannot be followed, drop them.
                links.retain(|&t| levels[t as usize] as usize > l);
                upper[off] = links.len() as u32;
                upper[off + 1..off + 1 + links.len()].copy_from_slice(&links);
                off += m + 1;
            }
        }
        let words = n.div_ceil(64);
        Segment {
            dim,
            m,
            ids,
            vectors,
            deleted: vec![0; words],
            deleted_count: 0,
            entry,
            max_level,
            levels,
            level0,
            upper_offsets,
            upper,
        }
    }

    /// Approximate heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.ids.capacity() * 8
            + self.vectors.capacity() * 4
            + self.deleted.capacity() * 8
            + self.levels.capacity()
            + (self.level0.capacity() + self.upper_offsets.capacity() + self.upper.capacity()) * 4
    }

    /// Graph search: the `ef` best slots (at most) that are live and accepted, best first.
    pub(crate) fn search<F: Fn(u32) -> bool>(
        &self,
        metric: DistanceMetric,
        q: &[f32],
        ef: usize,
        accept: F,
        scratch: &mut Scratch,
    ) -> Vec<Cand> {
        let n = self.len();
        if n == 0 {
            return Vec::new();
        }
        let mut cur = self.entry;
        let mut cur_d = metric.raw(q, self.vector(cur));
        for level in (1..=self.max_level as usize).rev() {
            loop {
                let mut changed = false;
                for &nb in self.links(cur, level) {
                    let d = metric.raw(q, self.vector(nb));
                    if d < cur_d {
                        cur_d = d;
                        cur = nb;
                        changed = true;
                    }
                }
                if !changed {
                    break;
                }
            }
        }
        scratch.reset(n);
        scratch.visited.visit(cur);
        let first = Cand {
            d: cur_d,
            slot: cur,
        };
        scratch.candidates.push(MinCand(first));
        if !self.is_deleted(cur) && accept(cur) {
            scratch.results.push(first);
        }
        while let Some(MinCand(c)) = scratch.candidates.pop() {
            let full = scratch.results.len() >= ef;
            let bound = if full {
                scratch.results.peek().map_or(f32::INFINITY, |r| r.d)
            } else {
                f32::INFINITY
            };
            if c.d > bound {
                break;
            }
            let links = self.links(c.slot, 0);
            for (i, &nb) in links.iter().enumerate() {
                if let Some(&next) = links.get(i + 1) {
                    prefetch(self.vector(next));
                }
                if !scratch.visited.visit(nb) {
                    continue;
                }
                let d = metric.raw(q, self.vector(nb));
                let full = scratch.results.len() >= ef;
                let bound = if full {
                    scratch.results.peek().map_or(f32::INFINITY, |r| r.d)
                } else {
                    f32::INFINITY
                };
                if d < bound || !full {
                    let cand = Cand { d, slot: nb };
                    scratch.candidates.push(MinCand(cand));
                    if !self.is_deleted(nb) && accept(nb) {
                        scratch.results.push(cand);
                        if scratch.results.len() > ef {
                            scratch.results.pop();
                        }
                    }
                }
            }
        }
        let mut out: Vec<Cand> = scratch.results.drain().collect();
        out.sort_unstable();
        out
    }

    /// Exact scan over `slots` (all slots when `None`), keeping live, accepted ones.
    pub(crate) fn exact<F: Fn(u32) -> bool>(
        &self,
        metric: DistanceMetric,
        q: &[f32],
        slots: Option<&[u32]>,
        accept: F,
        top: &mut TopK,
    ) {
        let mut visit = |slot: u32| {
            if self.is_deleted(slot) || !accept(slot) {
                return;
            }
            let d = metric.raw(q, self.vector(slot));
            if d < top.worst() {
                top.push(Cand { d, slot });
            }
        };
        match slots {
            Some(s) => s.iter().for_each(|&slot| visit(slot)),
            None => (0..self.len() as u32).for_each(visit),
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

/// hnsw_rs's graph type as we use it.
pub(crate) type BuildGraph = Hnsw<'static, f32, BuildDistance>;

/// A fresh hnsw_rs graph with our parameters (already validated).
pub(crate) fn new_build_graph(
    metric: DistanceMetric,
    m: usize,
    ef_construction: usize,
    hint: usize,
) -> BuildGraph {
    Hnsw::new(
        m,
        hint.max(16),
        MAX_LAYERS,
        ef_construction,
        BuildDistance(metric),
    )
}
