//! [`VectorIndex`]: segments, the write buffer, ids, tombstones and the search strategies.

use std::collections::{HashMap, HashSet};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use rayon::prelude::*;

use crate::build::build_segment;
use crate::error::{Result, VectorError};
use crate::metric::{DistanceMetric, prepare, prepare_in_place};
use crate::params::{HnswParams, check_dimension, check_ef};
use crate::segment::{BuildGraph, Cand, Segment, TopK, new_build_graph, with_scratch};

/// A search hit: the vector's id and its distance to the query (see [`DistanceMetric`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbor {
    /// The id the vector was inserted under.
    pub id: u64,
    /// Distance to the query; smaller is closer.
    pub distance: f32,
}

/// Restricts a search to some ids. The index picks the strategy per query: an exact scan when
/// few ids can pass, a filtered graph search otherwise. Every result satisfies the filter.
#[derive(Clone, Copy)]
pub enum Filter<'a> {
    /// Only these ids may be returned.
    AllowIds(&'a HashSet<u64>),
    /// These ids may not be returned.
    DenyIds(&'a HashSet<u64>),
    /// Only ids for which the predicate returns `true` may be returned.
    Predicate(&'a (dyn Fn(u64) -> bool + Sync)),
}

impl std::fmt::Debug for Filter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Filter::AllowIds(s) => write!(f, "AllowIds({} ids)", s.len()),
            Filter::DenyIds(s) => write!(f, "DenyIds({} ids)", s.len()),
            Filter::Predicate(_) => f.write_str("Predicate(..)"),
        }
    }
}

impl Filter<'_> {
    /// Whether `id` passes the filter.
    #[inline]
    pub fn accepts(&self, id: u64) -> bool {
        match self {
            Filter::AllowIds(s) => s.contains(&id),
            Filter::DenyIds(s) => !s.contains(&id),
            Filter::Predicate(p) => p(id),
        }
    }
}

/// Batches of at least this many vectors become their own frozen segment directly.
pub(crate) const DIRECT_BATCH: usize = 2048;
/// The write buffer is sealed into a segment when it reaches this many vectors.
pub(crate) const SEAL_AT: usize = 50_000;
/// More segments than this and the two smallest are merged (rebuilt).
pub(crate) const MAX_SEGMENTS: usize = 8;
/// Parts with at most this many live vectors are always scanned exactly.
pub(crate) const EXACT_PART: usize = 256;
/// Slot number of the write buffer in a [`Loc`].
const ACTIVE: u32 = u32::MAX;
/// Max slots per segment.
pub(crate) const MAX_SLOTS: usize = u32::MAX as usize - 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Loc {
    pub(crate) part: u32,
    pub(crate) slot: u32,
}

/// Vectors inserted one by one (or in small batches) live here, in an hnsw_rs graph, until
/// they are sealed into a [`Segment`].
pub(crate) struct Active {
    hnsw: BuildGraph,
    ids: Vec<u64>,
    vectors: Vec<f32>,
    deleted: Vec<bool>,
    deleted_count: usize,
}

impl Active {
    fn live(&self) -> usize {
        self.ids.len() - self.deleted_count
    }
    fn vector(&self, dim: usize, slot: usize) -> &[f32] {
        &self.vectors[slot * dim..(slot + 1) * dim]
    }
}

#[derive(Default)]
pub(crate) struct Inner {
    pub(crate) segments: Vec<Segment>,
    pub(crate) active: Option<Active>,
    pub(crate) locations: HashMap<u64, Loc>,
}

/// An HNSW index over `u64` ids. `Send + Sync`: share it behind an `Arc` and call every method
/// from any thread; searches run in parallel, writes take a short exclusive lock.
///
/// Internally the index is a few frozen *segments* (vectors plus a flat `u32` link graph,
/// searched by our own code) and a write buffer (an hnsw_rs graph) for vectors inserted one by
/// one. Large batches become segments directly; the buffer is sealed on [`VectorIndex::save`],
/// [`VectorIndex::seal`] or when it reaches 50 000 vectors; more than 8 segments are merged.
pub struct VectorIndex {
    dimension: usize,
    metric: DistanceMetric,
    params: HnswParams,
    inner: RwLock<Inner>,
}

impl std::fmt::Debug for VectorIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VectorIndex")
            .field("dimension", &self.dimension)
            .field("metric", &self.metric)
            .field("params", &self.params)
            .field("len", &self.len())
            .finish()
    }
}

impl VectorIndex {
    /// An empty index for vectors of `dimension` components.
    pub fn new(dimension: usize, metric: DistanceMetric, params: HnswParams) -> Result<Self> {
        check_dimension(dimension)?;
        params.validate()?;
        Ok(VectorIndex {
            dimension,
            metric,
            params,
            inner: RwLock::new(Inner::default()),
        })
    }

    pub(crate) fn from_parts(
        dimension: usize,
        metric: DistanceMetric,
        params: HnswParams,
        inner: Inner,
    ) -> Self {
        VectorIndex {
            dimension,
            metric,
            params,
            inner: RwLock::new(inner),
        }
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }
    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Vector dimension.
    pub fn dimension(&self) -> usize {
        self.dimension
    }
    /// Distance metric.
    pub fn metric(&self) -> DistanceMetric {
        self.metric
    }
    /// Parameters the index was created with.
    pub fn params(&self) -> HnswParams {
        self.params
    }
    /// Number of live (inserted and not deleted) vectors.
    pub fn len(&self) -> usize {
        self.read().locations.len()
    }
    /// Whether the index holds no live vector.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Whether a vector is stored under `id`.
    pub fn contains(&self, id: u64) -> bool {
        self.read().locations.contains_key(&id)
    }
    /// Number of tombstones (deleted or replaced vectors still in the graph until
    /// [`VectorIndex::compact`]).
    pub fn deleted_count(&self) -> usize {
        let inner = self.read();
        inner
            .segments
            .iter()
            .map(|s| s.deleted_count)
            .sum::<usize>()
            + inner.active.as_ref().map_or(0, |a| a.deleted_count)
    }
    /// Number of frozen segments (for diagnostics).
    pub fn segment_count(&self) -> usize {
        self.read().segments.len()
    }
    /// Approximate heap bytes held by the index.
    pub fn memory_bytes(&self) -> usize {
        let inner = self.read();
        let segs: usize = inner.segments.iter().map(Segment::heap_bytes).sum();
        // hnsw_rs: its own copy of each vector plus ~48 bytes per link and a few allocations.
        let active = inner.active.as_ref().map_or(0, |a| {
            a.ids.len() * (self.dimension * 8 + 8 + 1 + 48 * 2 * self.params.m + 200)
        });
        segs + active + inner.locations.capacity() * 24
    }

    /// The stored vector of `id` (normalized to unit length for [`DistanceMetric::Cosine`]).
    pub fn get(&self, id: u64) -> Result<Vec<f32>> {
        let inner = self.read();
        let loc = *inner.locations.get(&id).ok_or(VectorError::UnknownId(id))?;
        Ok(match (loc.part, inner.active.as_ref()) {
            (ACTIVE, Some(a)) => a.vector(self.dimension, loc.slot as usize).to_vec(),
            (p, _) => inner.segments[p as usize].vector(loc.slot).to_vec(),
        })
    }

    /// Inserts `vector` under `id`, replacing any vector already stored under `id`.
    pub fn insert(&self, id: u64, vector: &[f32]) -> Result<()> {
        let v = prepare(self.metric, self.dimension, vector)?;
        let mut inner = self.write();
        self.ensure_active(&mut inner);
        let active = inner.active.as_ref().map_or(0, |a| a.ids.len());
        if active >= MAX_SLOTS {
            return Err(VectorError::CapacityExceeded { limit: MAX_SLOTS });
        }
        inner.tombstone(id);
        if let Some(a) = inner.active.as_mut() {
            let slot = a.ids.len();
            a.ids.push(id);
            a.vectors.extend_from_slice(&v);
            a.deleted.push(false);
            a.hnsw.insert_slice((&v, slot));
            inner.locations.insert(
                id,
                Loc {
                    part: ACTIVE,
                    slot: slot as u32,
                },
            );
        }
        self.after_write(&mut inner);
        Ok(())
    }

    /// Inserts many vectors: `vectors` holds `ids.len()` rows of `dimension` components. Builds
    /// in parallel on the current rayon pool. An id given twice keeps its last row; an id
    /// already stored is replaced. Nothing is inserted if any row is invalid.
    pub fn insert_batch(&self, ids: &[u64], vectors: &[f32]) -> Result<()> {
        self.insert_batch_with_progress(ids, vectors, &mut |_, _| {})
    }

    /// [`VectorIndex::insert_batch`], calling `progress(done, total)` as the build advances.
    pub fn insert_batch_with_progress(
        &self,
        ids: &[u64],
        vectors: &[f32],
        progress: &mut (dyn FnMut(usize, usize) + Send),
    ) -> Result<()> {
        let dim = self.dimension;
        if Some(vectors.len()) != ids.len().checked_mul(dim) {
            return Err(VectorError::InvalidInput(format!(
                "{} ids but {} floats: expected {} rows of dimension {dim}",
                ids.len(),
                vectors.len(),
                vectors.len() / dim
            )));
        }
        if ids.len() > MAX_SLOTS {
            return Err(VectorError::CapacityExceeded { limit: MAX_SLOTS });
        }
        // Last occurrence of each id wins.
        let mut last: HashMap<u64, usize> = HashMap::with_capacity(ids.len());
        for (i, &id) in ids.iter().enumerate() {
            last.insert(id, i);
        }
        let keep: Vec<usize> = (0..ids.len())
            .filter(|&i| last.get(&ids[i]) == Some(&i))
            .collect();
        drop(last);
        let mut rows: Vec<f32> = Vec::with_capacity(keep.len() * dim);
        for &i in &keep {
            rows.extend_from_slice(&vectors[i * dim..(i + 1) * dim]);
        }
        let metric = self.metric;
        rows.par_chunks_mut(dim)
            .map(|r| prepare_in_place(metric, dim, r))
            .collect::<Result<Vec<()>>>()?;
        let kept_ids: Vec<u64> = keep.iter().map(|&i| ids[i]).collect();
        if kept_ids.is_empty() {
            return Ok(());
        }
        if kept_ids.len() >= DIRECT_BATCH {
            // Build outside the lock: searches go on meanwhile.
            let seg = build_segment(
                metric,
                self.params.m,
                self.params.ef_construction,
                dim,
                kept_ids,
                rows,
                progress,
            );
            let mut inner = self.write();
            inner.install_segment(seg);
            self.after_write(&mut inner);
            return Ok(());
        }
        let mut inner = self.write();
        self.ensure_active(&mut inner);
        let first = inner.active.as_ref().map_or(0, |a| a.ids.len());
        if first + kept_ids.len() > MAX_SLOTS {
            return Err(VectorError::CapacityExceeded { limit: MAX_SLOTS });
        }
        for &id in &kept_ids {
            inner.tombstone(id);
        }
        let n = kept_ids.len();
        if let Some(a) = inner.active.as_mut() {
            a.ids.extend_from_slice(&kept_ids);
            a.vectors.extend_from_slice(&rows);
            a.deleted.resize(a.ids.len(), false);
            let batch: Vec<(&[f32], usize)> = (first..first + n)
                .map(|s| (&a.vectors[s * dim..(s + 1) * dim], s))
                .collect();
            a.hnsw.parallel_insert_slice(&batch);
        }
        for (i, id) in kept_ids.into_iter().enumerate() {
            inner.locations.insert(
                id,
                Loc {
                    part: ACTIVE,
                    slot: (first + i) as u32,
                },
            );
        }
        progress(n, n);
        self.after_write(&mut inner);
        Ok(())
    }

    /// Deletes the vector stored under `id`. It is never returned again; its slot is reclaimed
    /// by [`VectorIndex::compact`].
    pub fn delete(&self, id: u64) -> Result<()> {
        let mut inner = self.write();
        if !inner.tombstone(id) {
            return Err(VectorError::UnknownId(id));
        }
        Ok(())
    }

    /// Rebuilds the index into one segment without tombstones. Blocks other calls meanwhile.
    pub fn compact(&self) -> Result<()> {
        let mut inner = self.write();
        let (ids, vectors) = inner.live_rows(self.dimension);
        let seg = build_segment(
            self.metric,
            self.params.m,
            self.params.ef_construction,
            self.dimension,
            ids,
            vectors,
            &mut |_, _| {},
        );
        inner.segments = if seg.len() > 0 { vec![seg] } else { Vec::new() };
        inner.active = None;
        inner.rebuild_locations();
        Ok(())
    }

    /// Seals the write buffer into a frozen segment (no rebuild: the graph is copied).
    pub fn seal(&self) {
        let mut inner = self.write();
        inner.seal(self.params.m, self.dimension);
        self.merge_small(&mut inner);
    }

    fn ensure_active(&self, inner: &mut Inner) {
        if inner.active.is_none() {
            inner.active = Some(Active {
                hnsw: new_build_graph(
                    self.metric,
                    self.params.m,
                    self.params.ef_construction,
                    1024,
                ),
                ids: Vec::new(),
                vectors: Vec::new(),
                deleted: Vec::new(),
                deleted_count: 0,
            });
        }
    }

    fn after_write(&self, inner: &mut Inner) {
        if inner
            .active
            .as_ref()
            .is_some_and(|a| a.ids.len() >= SEAL_AT)
        {
            inner.seal(self.params.m, self.dimension);
        }
        self.merge_small(inner);
    }

    fn merge_small(&self, inner: &mut Inner) {
        while inner.segments.len() > MAX_SEGMENTS {
            let mut order: Vec<usize> = (0..inner.segments.len()).collect();
            order.sort_by_key(|&i| inner.segments[i].live());
            let (a, b) = (order[0].max(order[1]), order[0].min(order[1]));
            let sa = inner.segments.swap_remove(a);
            let sb = inner.segments.swap_remove(b);
            let mut ids = Vec::with_capacity(sa.live() + sb.live());
            let mut vectors = Vec::with_capacity((sa.live() + sb.live()) * self.dimension);
            for s in [&sa, &sb] {
                for slot in 0..s.len() as u32 {
                    if !s.is_deleted(slot) {
                        ids.push(s.ids[slot as usize]);
                        vectors.extend_from_slice(s.vector(slot));
                    }
                }
            }
            drop((sa, sb));
            let seg = build_segment(
                self.metric,
                self.params.m,
                self.params.ef_construction,
                self.dimension,
                ids,
                vectors,
                &mut |_, _| {},
            );
            if seg.len() > 0 {
                inner.segments.push(seg);
            }
            inner.rebuild_locations();
        }
    }

    fn check_query(&self, query: &[f32], k: usize, ef: usize) -> Result<Vec<f32>> {
        if k == 0 {
            return Err(VectorError::ZeroK);
        }
        check_ef("ef_search", ef)?;
        prepare(self.metric, self.dimension, query)
    }

    /// The `k` nearest vectors to `query` (fewer if the index holds fewer), best first, with
    /// the default `ef_search`.
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<Neighbor>> {
        self.search_with_ef(query, k, self.params.ef_search)
    }

    /// [`VectorIndex::search`] with this query's own `ef_search` (raised to `k` if smaller).
    pub fn search_with_ef(
        &self,
        query: &[f32],
        k: usize,
        ef_search: usize,
    ) -> Result<Vec<Neighbor>> {
        let q = self.check_query(query, k, ef_search)?;
        Ok(self.read().search(self, &q, k, ef_search, None))
    }

    /// The `k` nearest vectors that pass `filter`. Selective filters use an exact scan over
    /// the ids that pass; others a filtered graph search.
    pub fn search_filtered(
        &self,
        query: &[f32],
        k: usize,
        filter: &Filter<'_>,
    ) -> Result<Vec<Neighbor>> {
        self.search_filtered_with_ef(query, k, self.params.ef_search, filter)
    }

    /// [`VectorIndex::search_filtered`] with this query's own `ef_search`.
    pub fn search_filtered_with_ef(
        &self,
        query: &[f32],
        k: usize,
        ef_search: usize,
        filter: &Filter<'_>,
    ) -> Result<Vec<Neighbor>> {
        let q = self.check_query(query, k, ef_search)?;
        Ok(self.read().search(self, &q, k, ef_search, Some(filter)))
    }

    /// Exact (brute-force) `k` nearest neighbours, optionally filtered: the ground truth.
    pub fn search_exact(
        &self,
        query: &[f32],
        k: usize,
        filter: Option<&Filter<'_>>,
    ) -> Result<Vec<Neighbor>> {
        let q = self.check_query(query, k, 1)?;
        let inner = self.read();
        let accept = |id: u64| filter.is_none_or(|f| f.accepts(id));
        Ok(inner.exact_all(self, &q, k, &accept))
    }

    /// Searches many queries in parallel (rayon): `queries` holds rows of `dimension`
    /// components; returns one result list per row.
    pub fn search_batch(
        &self,
        queries: &[f32],
        k: usize,
        ef_search: usize,
    ) -> Result<Vec<Vec<Neighbor>>> {
        let dim = self.dimension;
        if !queries.len().is_multiple_of(dim) {
            return Err(VectorError::InvalidInput(format!(
                "{} floats is not a whole number of rows of dimension {dim}",
                queries.len()
            )));
        }
        if k == 0 {
            return Err(VectorError::ZeroK);
        }
        check_ef("ef_search", ef_search)?;
        let mut qs = queries.to_vec();
        let metric = self.metric;
        qs.par_chunks_mut(dim)
            .map(|r| prepare_in_place(metric, dim, r))
            .collect::<Result<Vec<()>>>()?;
        let inner = self.read();
        let inner: &Inner = &inner;
        Ok(qs
            .par_chunks(dim)
            .map(|q| inner.search(self, q, k, ef_search, None))
            .collect())
    }
}

impl Inner {
    /// Marks the current vector of `id` deleted and forgets the id; false if unknown.
    fn tombstone(&mut self, id: u64) -> bool {
        let Some(loc) = self.locations.remove(&id) else {
            return false;
        };
        if loc.part == ACTIVE {
            if let Some(a) = self.active.as_mut()
                && let Some(d) = a.deleted.get_mut(loc.slot as usize)
                && !*d
            {
                *d = true;
                a.deleted_count += 1;
            }
        } else if let Some(s) = self.segments.get_mut(loc.part as usize) {
            s.delete(loc.slot);
        }
        true
    }

    fn install_segment(&mut self, seg: Segment) {
        let part = self.segments.len() as u32;
        for (slot, &id) in seg.ids.iter().enumerate() {
            self.tombstone(id);
            self.locations.insert(
                id,
                Loc {
                    part,
                    slot: slot as u32,
                },
            );
        }
        self.segments.push(seg);
    }

    pub(crate) fn seal(&mut self, m: usize, dim: usize) {
        let Some(a) = self.active.take() else { return };
        if a.live() == 0 {
            return;
        }
        let mut seg = Segment::from_hnsw(&a.hnsw, m, dim, a.ids, a.vectors);
        for (slot, &d) in a.deleted.iter().enumerate() {
            if d {
                seg.delete(slot as u32);
            }
        }
        drop(a.hnsw);
        let part = self.segments.len() as u32;
        for slot in 0..seg.len() as u32 {
            if !seg.is_deleted(slot) {
                self.locations
                    .insert(seg.ids[slot as usize], Loc { part, slot });
            }
        }
        self.segments.push(seg);
    }

    fn rebuild_locations(&mut self) {
        self.locations.clear();
        for (p, s) in self.segments.iter().enumerate() {
            for slot in 0..s.len() as u32 {
                if !s.is_deleted(slot) {
                    self.locations.insert(
                        s.ids[slot as usize],
                        Loc {
                            part: p as u32,
                            slot,
                        },
                    );
                }
            }
        }
        if let Some(a) = &self.active {
            for (slot, &id) in a.ids.iter().enumerate() {
                if !a.deleted[slot] {
                    self.locations.insert(
                        id,
                        Loc {
                            part: ACTIVE,
                            slot: slot as u32,
                        },
                    );
                }
            }
        }
    }

    fn live_rows(&self, dim: usize) -> (Vec<u64>, Vec<f32>) {
        let n = self.locations.len();
        let mut ids = Vec::with_capacity(n);
        let mut vectors = Vec::with_capacity(n * dim);
        for s in &self.segments {
            for slot in 0..s.len() as u32 {
                if !s.is_deleted(slot) {
                    ids.push(s.ids[slot as usize]);
                    vectors.extend_from_slice(s.vector(slot));
                }
            }
        }
        if let Some(a) = &self.active {
            for (slot, &id) in a.ids.iter().enumerate() {
                if !a.deleted[slot] {
                    ids.push(id);
                    vectors.extend_from_slice(a.vector(dim, slot));
                }
            }
        }
        (ids, vectors)
    }

    /// Exact scan over every live vector accepted by `accept`.
    fn exact_all(
        &self,
        idx: &VectorIndex,
        q: &[f32],
        k: usize,
        accept: &dyn Fn(u64) -> bool,
    ) -> Vec<Neighbor> {
        let mut hits = Vec::new();
        for s in &self.segments {
            let mut top = TopK::new(k);
            s.exact(
                idx.metric,
                q,
                None,
                |slot| accept(s.ids[slot as usize]),
                &mut top,
            );
            hits.extend(
                top.into_sorted()
                    .into_iter()
                    .map(|c| (c.d, s.ids[c.slot as usize])),
            );
        }
        if let Some(a) = &self.active {
            hits.extend(a.exact(idx, q, k, None, accept));
        }
        finish(idx.metric, hits, k)
    }

    /// Exact scan over the locations of the given ids.
    fn exact_ids(
        &self,
        idx: &VectorIndex,
        q: &[f32],
        k: usize,
        ids: &HashSet<u64>,
    ) -> Vec<Neighbor> {
        let mut per_part: HashMap<u32, Vec<u32>> = HashMap::new();
        for id in ids {
            if let Some(loc) = self.locations.get(id) {
                per_part.entry(loc.part).or_default().push(loc.slot);
            }
        }
        let mut hits = Vec::new();
        for (part, slots) in per_part {
            if part == ACTIVE {
                if let Some(a) = &self.active {
                    hits.extend(a.exact(idx, q, k, Some(&slots), &|_| true));
                }
            } else if let Some(s) = self.segments.get(part as usize) {
                let mut top = TopK::new(k);
                s.exact(idx.metric, q, Some(&slots), |_| true, &mut top);
                hits.extend(
                    top.into_sorted()
                        .into_iter()
                        .map(|c| (c.d, s.ids[c.slot as usize])),
                );
            }
        }
        finish(idx.metric, hits, k)
    }

    /// Graph search over every part, each limited to `accept`.
    fn graph_all(
        &self,
        idx: &VectorIndex,
        q: &[f32],
        k: usize,
        ef: usize,
        accept: &dyn Fn(u64) -> bool,
    ) -> Vec<Neighbor> {
        let ef = ef.max(k);
        let mut hits = Vec::new();
        for s in &self.segments {
            if s.live() == 0 {
                continue;
            }
            if s.live() <= EXACT_PART {
                let mut top = TopK::new(k);
                s.exact(
                    idx.metric,
                    q,
                    None,
                    |slot| accept(s.ids[slot as usize]),
                    &mut top,
                );
                hits.extend(
                    top.into_sorted()
                        .into_iter()
                        .map(|c| (c.d, s.ids[c.slot as usize])),
                );
            } else {
                let found = with_scratch(|sc| {
                    s.search(idx.metric, q, ef, |slot| accept(s.ids[slot as usize]), sc)
                });
                hits.extend(
                    found
                        .into_iter()
                        .take(k)
                        .map(|c| (c.d, s.ids[c.slot as usize])),
                );
            }
        }
        if let Some(a) = &self.active {
            if a.live() <= EXACT_PART {
                hits.extend(a.exact(idx, q, k, None, accept));
            } else {
                let filter = |slot: &usize| !a.deleted[*slot] && accept(a.ids[*slot]);
                let found = a.hnsw.search_filter(q, k, ef, Some(&filter));
                hits.extend(
                    found
                        .into_iter()
                        .filter(|nb| nb.d_id < a.ids.len())
                        .map(|nb| {
                            (
                                idx.metric.raw(q, a.vector(idx.dimension, nb.d_id)),
                                a.ids[nb.d_id],
                            )
                        }),
                );
            }
        }
        finish(idx.metric, hits, k)
    }

    fn search(
        &self,
        idx: &VectorIndex,
        q: &[f32],
        k: usize,
        ef: usize,
        filter: Option<&Filter<'_>>,
    ) -> Vec<Neighbor> {
        let live = self.locations.len();
        if live == 0 {
            return Vec::new();
        }
        let Some(filter) = filter else {
            return self.graph_all(idx, q, k, ef, &|_| true);
        };
        // An exact scan over `a` allowed vectors costs `a` distances; a filtered graph search
        // about ef·2m·live/a. Scan when `a² ≤ ef·2m·live` (and always for a ≤ 1024).
        let limit = ((ef.max(k) * 2 * idx.params.m) as f64 * live as f64)
            .sqrt()
            .max(1024.0) as usize;
        let accept = |id: u64| filter.accepts(id);
        match filter {
            Filter::AllowIds(set) => {
                if set.len() <= limit {
                    self.exact_ids(idx, q, k, set)
                } else {
                    self.graph_all(idx, q, k, ef, &accept)
                }
            }
            Filter::DenyIds(_) | Filter::Predicate(_) => {
                // Estimate the pass rate on a sample of live ids.
                const SAMPLE: usize = 256;
                let step = (live / SAMPLE).max(1);
                let (mut seen, mut pass) = (0usize, 0usize);
                for id in self.locations.keys().step_by(step).take(SAMPLE) {
                    seen += 1;
                    pass += usize::from(accept(*id));
                }
                let estimate = (live * pass).checked_div(seen).unwrap_or(0);
                if estimate <= limit {
                    self.exact_all(idx, q, k, &accept)
                } else {
                    self.graph_all(idx, q, k, ef, &accept)
                }
            }
        }
    }
}

impl Active {
    fn exact(
        &self,
        idx: &VectorIndex,
        q: &[f32],
        k: usize,
        slots: Option<&[u32]>,
        accept: &dyn Fn(u64) -> bool,
    ) -> Vec<(f32, u64)> {
        let mut top = TopK::new(k);
        let mut visit = |slot: usize| {
            if self.deleted[slot] || !accept(self.ids[slot]) {
                return;
            }
            let d = idx.metric.raw(q, self.vector(idx.dimension, slot));
            top.push(Cand {
                d,
                slot: slot as u32,
            });
        };
        match slots {
            Some(s) => s.iter().for_each(|&slot| visit(slot as usize)),
            None => (0..self.ids.len()).for_each(visit),
        }
        top.into_sorted()
            .into_iter()
            .map(|c| (c.d, self.ids[c.slot as usize]))
            .collect()
    }
}

/// Merges per-part hits into the `k` best, reported as [`Neighbor`]s.
fn finish(metric: DistanceMetric, mut hits: Vec<(f32, u64)>, k: usize) -> Vec<Neighbor> {
    hits.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    hits.truncate(k);
    hits.into_iter()
        .map(|(d, id)| Neighbor {
            id,
            distance: metric.report(d),
        })
        .collect()
}
