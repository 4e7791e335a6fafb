//! Seeded test data and a reference brute-force search.
#![allow(dead_code)]

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use toondb_vector::{DistanceMetric, Neighbor};

/// `n` clustered rows of `dim` floats (Gaussian-ish blobs around 20 centres).
pub fn clustered(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    let centres: Vec<Vec<f32>> = (0..20)
        .map(|_| (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect())
        .collect();
    let mut out = Vec::with_capacity(n * dim);
    for _ in 0..n {
        let c = &centres[rng.random_range(0..centres.len())];
        for x in c {
            let noise: f32 = (0..4).map(|_| rng.random_range(-0.25f32..0.25)).sum();
            out.push(x + noise);
        }
    }
    out
}

/// Reference distance, computed in f64 the obvious way.
pub fn reference_distance(metric: DistanceMetric, a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    match metric {
        DistanceMetric::Cosine => {
            let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
            let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
            1.0 - dot / (na * nb)
        }
        DistanceMetric::Euclidean => a
            .iter()
            .zip(b)
            .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
            .sum::<f64>()
            .sqrt(),
        DistanceMetric::DotProduct => 1.0 - dot,
        _ => unreachable!("new metric"),
    }
}

/// Brute-force top-k ids over rows whose id passes `keep` (row `i` has id `ids[i]`).
pub fn brute_force(
    metric: DistanceMetric,
    rows: &[f32],
    dim: usize,
    ids: &[u64],
    q: &[f32],
    k: usize,
    keep: impl Fn(u64) -> bool,
) -> Vec<u64> {
    let mut all: Vec<(f64, u64)> = rows
        .chunks(dim)
        .zip(ids)
        .filter(|(_, id)| keep(**id))
        .map(|(r, id)| (reference_distance(metric, q, r), *id))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    all.into_iter().take(k).map(|(_, id)| id).collect()
}

/// |found ∩ truth| / |truth|.
pub fn recall(found: &[Neighbor], truth: &[u64]) -> f64 {
    if truth.is_empty() {
        return 1.0;
    }
    let hits = found.iter().filter(|n| truth.contains(&n.id)).count();
    hits as f64 / truth.len() as f64
}
