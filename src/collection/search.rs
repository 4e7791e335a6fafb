//! Searches over a collection and the fusion of rankings.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::filter::Filter;
use super::layout::DEFAULT_VECTOR;
use super::state::{CollState, Indexes};
use crate::vector::{self, DistanceMetric};
use crate::{Error, Result};

/// The RRF constant used unless another is given.
pub const DEFAULT_RRF_K: f32 = 60.0;

/// One search hit.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResult {
    /// The document's id.
    pub id: String,
    /// The score the results are ordered by (higher is better): a similarity for vector
    /// search, BM25 for keyword search, the fused score for hybrid search, the aggregate
    /// for multi-vector search.
    pub score: f32,
    /// 1-based rank on the vector side, if the document was a vector candidate.
    pub vector_rank: Option<usize>,
    /// Similarity on the vector side: `1 − distance` for cosine and dot product,
    /// `1 / (1 + distance)` for Euclidean.
    pub vector_score: Option<f32>,
    /// 1-based rank on the keyword side, if the document was a keyword candidate.
    pub text_rank: Option<usize>,
    /// BM25 score on the keyword side.
    pub text_score: Option<f32>,
    /// The document's metadata.
    pub metadata: Value,
    /// The document's content.
    pub content: Option<String>,
}

/// How [`multi_vector_search`](crate::Collection::multi_vector_search) turns the
/// per-vector similarities of a document into one score.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Aggregation {
    /// The best similarity over the queried vectors.
    MaxPooling,
    /// The mean similarity over the queried vectors the document has.
    MeanPooling,
    /// `Σ weight[name] × similarity[name]`; every queried name needs a weight.
    WeightedSum(HashMap<String, f32>),
}

pub(crate) enum Fusion {
    Rrf { k: f32 },
    Alpha(f32),
}

fn similarity(metric: DistanceMetric, distance: f32) -> f32 {
    match metric {
        DistanceMetric::Euclidean => 1.0 / (1.0 + distance),
        _ => 1.0 - distance,
    }
}

/// Similarity of two vectors by the collection's metric (the same scale as
/// [`similarity`] of the index's distance).
fn direct_similarity(metric: DistanceMetric, a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    match metric {
        DistanceMetric::Euclidean => {
            let d2: f32 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
            1.0 / (1.0 + d2.sqrt())
        }
        DistanceMetric::DotProduct => dot,
        _ => {
            let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
            let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
            if na == 0.0 || nb == 0.0 {
                0.0
            } else {
                dot / (na * nb)
            }
        }
    }
}

/// A candidate while results are assembled.
#[derive(Default, Clone, Copy)]
struct Cand {
    score: f32,
    vector_rank: Option<usize>,
    vector_score: Option<f32>,
    text_rank: Option<usize>,
    text_score: Option<f32>,
}

#[derive(Clone, Copy)]
enum Side {
    Vector,
    Text,
}

impl Cand {
    /// Records a 1-based `rank` and `score` on one side.
    fn record(&mut self, side: Side, rank: usize, score: f32) {
        match side {
            Side::Vector => (self.vector_rank, self.vector_score) = (Some(rank), Some(score)),
            Side::Text => (self.text_rank, self.text_score) = (Some(rank), Some(score)),
        }
    }
}

/// Candidates of a single-sided search, scored by that side's score.
fn one_side(hits: Vec<(u64, f32)>, side: Side) -> Vec<(u64, Cand)> {
    hits.into_iter()
        .enumerate()
        .map(|(r, (iid, score))| {
            let mut c = Cand {
                score,
                ..Cand::default()
            };
            c.record(side, r + 1, score);
            (iid, c)
        })
        .collect()
}

impl CollState {
    fn check_k(k: usize) -> Result<()> {
        if k == 0 {
            return Err(Error::InvalidArgument("k must be at least 1".into()));
        }
        Ok(())
    }

    fn vector_side(
        &self,
        ix: &Indexes,
        vector: &[f32],
        k: usize,
        allowed: Option<&HashSet<u64>>,
    ) -> Result<Vec<(u64, f32)>> {
        if vector.len() != self.config.dimension {
            return Err(Error::DimensionMismatch {
                expected: self.config.dimension,
                got: vector.len(),
            });
        }
        let Some(index) = ix.vectors.get(DEFAULT_VECTOR) else {
            return Ok(Vec::new());
        };
        if index.is_empty() || allowed.is_some_and(HashSet::is_empty) {
            return Ok(Vec::new());
        }
        let ef = index.params().ef_search.max(k);
        let hits = match allowed {
            Some(set) => {
                index.search_filtered_with_ef(vector, k, ef, &vector::Filter::AllowIds(set))?
            }
            None => index.search_with_ef(vector, k, ef)?,
        };
        Ok(hits
            .into_iter()
            .map(|n| (n.id, similarity(self.config.metric, n.distance)))
            .collect())
    }

    fn text_side(
        &self,
        ix: &Indexes,
        text: &str,
        k: usize,
        allowed: Option<&HashSet<u64>>,
    ) -> Result<Vec<(u64, f32)>> {
        let Some(index) = &ix.text else {
            return Err(Error::InvalidArgument(format!(
                "collection {:?} was created with enable_hybrid_search = false: it has no text index",
                self.config.name
            )));
        };
        if text.trim().is_empty() {
            return Err(Error::EmptyQuery);
        }
        Ok(match allowed {
            Some(set) => {
                let ids: Vec<u64> = set.iter().copied().collect();
                index.search_filtered(text, k, &ids)?
            }
            None => index.search(text, k)?,
        })
    }

    fn finish(
        &self,
        ix: &Indexes,
        mut ranked: Vec<(u64, Cand)>,
        k: usize,
    ) -> Result<Vec<super::SearchResult>> {
        ranked.sort_by(|a, b| b.1.score.total_cmp(&a.1.score).then(a.0.cmp(&b.0)));
        ranked.truncate(k);
        let iids: Vec<u64> = ranked.iter().map(|(i, _)| *i).collect();
        let mut contents = self.contents(&iids)?;
        Ok(ranked
            .into_iter()
            .filter_map(|(iid, c)| {
                let (id, meta) = ix.docs.get(&iid)?;
                Some(SearchResult {
                    id: id.clone(),
                    score: c.score,
                    vector_rank: c.vector_rank,
                    vector_score: c.vector_score,
                    text_rank: c.text_rank,
                    text_score: c.text_score,
                    metadata: meta.clone(),
                    content: contents.remove(&iid).flatten(),
                })
            })
            .collect())
    }

    fn allowed_for(ix: &Indexes, filter: Option<&Filter>) -> Result<Option<HashSet<u64>>> {
        filter.map(|f| CollState::allowed(ix, f)).transpose()
    }

    pub(crate) fn vector_search(
        &self,
        vector: &[f32],
        k: usize,
        filter: Option<&Filter>,
    ) -> Result<Vec<SearchResult>> {
        Self::check_k(k)?;
        let ix = self.ready(false)?;
        let allowed = Self::allowed_for(&ix, filter)?;
        let hits = self.vector_side(&ix, vector, k, allowed.as_ref())?;
        self.finish(&ix, one_side(hits, Side::Vector), k)
    }

    pub(crate) fn keyword_search(
        &self,
        text: &str,
        k: usize,
        filter: Option<&Filter>,
    ) -> Result<Vec<SearchResult>> {
        Self::check_k(k)?;
        let ix = self.ready(true)?;
        let allowed = Self::allowed_for(&ix, filter)?;
        let hits = self.text_side(&ix, text, k, allowed.as_ref())?;
        self.finish(&ix, one_side(hits, Side::Text), k)
    }

    pub(crate) fn hybrid_search(
        &self,
        vector: &[f32],
        text: &str,
        k: usize,
        fusion: Fusion,
        filter: Option<&Filter>,
    ) -> Result<Vec<SearchResult>> {
        Self::check_k(k)?;
        match fusion {
            Fusion::Alpha(a) if !(0.0..=1.0).contains(&a) => {
                return Err(Error::InvalidArgument(format!(
                    "alpha must be within 0..=1, got {a}"
                )));
            }
            Fusion::Rrf { k } if !(k.is_finite() && k >= 0.0) => {
                return Err(Error::InvalidArgument(format!(
                    "the RRF constant must be ≥ 0, got {k}"
                )));
            }
            _ => {}
        }
        let ix = self.ready(true)?;
        let allowed = Self::allowed_for(&ix, filter)?;
        // Each side contributes a deeper candidate list than k, so documents ranked
        // moderately on both sides can rise.
        let depth = (k * 4).max(100);
        let vec_hits = self.vector_side(&ix, vector, depth, allowed.as_ref())?;
        let text_hits = self.text_side(&ix, text, depth, allowed.as_ref())?;
        let mut cands: HashMap<u64, Cand> = HashMap::new();
        for (side, hits) in [(Side::Vector, &vec_hits), (Side::Text, &text_hits)] {
            for (r, (iid, s)) in hits.iter().enumerate() {
                cands.entry(*iid).or_default().record(side, r + 1, *s);
            }
        }
        let norm = |hits: &[(u64, f32)]| {
            let (lo, hi) = hits
                .iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), (_, s)| {
                    (lo.min(*s), hi.max(*s))
                });
            move |s: f32| if hi > lo { (s - lo) / (hi - lo) } else { 1.0 }
        };
        let (vn, tn) = (norm(&vec_hits), norm(&text_hits));
        for c in cands.values_mut() {
            c.score = match fusion {
                Fusion::Rrf { k } => {
                    c.vector_rank.map_or(0.0, |r| 1.0 / (k + r as f32))
                        + c.text_rank.map_or(0.0, |r| 1.0 / (k + r as f32))
                }
                Fusion::Alpha(a) => {
                    a * c.vector_score.map_or(0.0, &vn) + (1.0 - a) * c.text_score.map_or(0.0, &tn)
                }
            };
        }
        self.finish(&ix, cands.into_iter().collect(), k)
    }

    pub(crate) fn multi_vector_search(
        &self,
        queries: &HashMap<String, Vec<f32>>,
        k: usize,
        aggregation: &Aggregation,
    ) -> Result<Vec<SearchResult>> {
        Self::check_k(k)?;
        if queries.is_empty() {
            return Err(Error::EmptyQuery);
        }
        if let Aggregation::WeightedSum(w) = aggregation
            && let Some(missing) = queries.keys().find(|n| !w.contains_key(*n))
        {
            return Err(Error::InvalidArgument(format!(
                "weighted_sum needs a weight for vector {missing:?}"
            )));
        }
        let ix = self.ready(false)?;
        let depth = (k * 4).max(100);
        let mut candidates: HashSet<u64> = HashSet::new();
        for (name, q) in queries {
            if q.len() != self.config.dimension {
                return Err(Error::DimensionMismatch {
                    expected: self.config.dimension,
                    got: q.len(),
                });
            }
            let Some(index) = ix.vectors.get(name) else {
                return Err(Error::InvalidArgument(format!(
                    "no document of collection {:?} has a vector named {name:?}",
                    self.config.name
                )));
            };
            if index.is_empty() {
                continue;
            }
            for n in index.search_with_ef(q, depth, index.params().ef_search.max(depth))? {
                candidates.insert(n.id);
            }
        }
        // Score every candidate exactly on every queried vector it has.
        let mut ranked = Vec::with_capacity(candidates.len());
        for iid in candidates {
            let mut sims = Vec::new();
            for (name, q) in queries {
                if let Some(index) = ix.vectors.get(name)
                    && index.contains(iid)
                {
                    let v = index.get(iid)?;
                    sims.push((name, direct_similarity(self.config.metric, q, &v)));
                }
            }
            if sims.is_empty() {
                continue;
            }
            let score = match aggregation {
                Aggregation::MaxPooling => sims
                    .iter()
                    .map(|(_, s)| *s)
                    .fold(f32::NEG_INFINITY, f32::max),
                Aggregation::MeanPooling => {
                    sims.iter().map(|(_, s)| *s).sum::<f32>() / sims.len() as f32
                }
                Aggregation::WeightedSum(w) => sims.iter().map(|(n, s)| w[n.as_str()] * s).sum(),
            };
            ranked.push((
                iid,
                Cand {
                    score,
                    ..Cand::default()
                },
            ));
        }
        self.finish(&ix, ranked, k)
    }
}
