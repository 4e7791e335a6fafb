//! The parallel batch builder (batches of 2048 rows or more become a segment built directly
//! into the flat graph): recall against brute force, on many threads, and after a save/load.

mod common;

use common::{brute_force, clustered, recall};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use toondb_vector::{DistanceMetric, HnswParams, VectorIndex};

const DIM: usize = 48;

/// `n` rows of `DIM` floats on a `latent`-dimensional subspace (a seeded random linear map of
/// clustered latent points) plus a little noise: the low intrinsic dimension of real embeddings.
fn embedded(n: usize, latent: usize, seed: u64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    let map: Vec<f32> = (0..latent * DIM)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    let points = clustered(n, latent, seed ^ 0x5eed);
    let mut out = Vec::with_capacity(n * DIM);
    for p in points.chunks(latent) {
        for j in 0..DIM {
            let x: f32 = (0..latent).map(|i| p[i] * map[i * DIM + j]).sum();
            out.push(x + rng.random_range(-0.01..0.01));
        }
    }
    out
}

/// Mean recall@10 of `index` at ef 64 over `queries`, against brute force over `rows`.
fn recall_at_10(
    index: &VectorIndex,
    metric: DistanceMetric,
    rows: &[f32],
    ids: &[u64],
    queries: &[f32],
) -> f64 {
    let mut total = 0.0;
    let n = queries.len() / DIM;
    for q in queries.chunks(DIM) {
        let found = index.search_with_ef(q, 10, 64).unwrap();
        assert_eq!(found.len(), 10);
        let truth = brute_force(metric, rows, DIM, ids, q, 10, |_| true);
        total += recall(&found, &truth);
    }
    total / n as f64
}

#[test]
fn batch_builder_recall_at_ef_64_is_at_least_095() {
    let n = 12_000;
    for (metric, seed) in [
        (DistanceMetric::Cosine, 11),
        (DistanceMetric::Euclidean, 12),
    ] {
        let mut rows = embedded(n + 100, 14, seed);
        let queries = rows.split_off(n * DIM);
        let ids: Vec<u64> = (0..n as u64).map(|i| i * 5 + 1).collect();
        let params = HnswParams::default()
            .with_m(16)
            .with_ef_construction(100)
            .with_ef_search(64);
        let index = VectorIndex::new(DIM, metric, params).unwrap();
        // Many threads on 2 cores: the per-node locks and the entry-point lock are exercised.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(8)
            .build()
            .unwrap();
        let mut calls = Vec::new();
        pool.install(|| {
            index
                .insert_batch_with_progress(&ids, &rows, &mut |done, total| {
                    calls.push((done, total))
                })
                .unwrap()
        });
        assert_eq!(index.len(), n);
        assert_eq!(
            index.segment_count(),
            1,
            "a large batch is one built segment"
        );
        assert_eq!(calls.last(), Some(&(n, n)), "progress reaches the end");
        assert!(
            calls.windows(2).all(|w| w[0].0 < w[1].0),
            "progress advances"
        );

        let r = recall_at_10(&index, metric, &rows, &ids, &queries);
        assert!(r >= 0.95, "{metric}: recall@10 at ef 64 = {r}");

        // The built graph passes the loader's checks and searches the same after a reload.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("built.hnsw");
        index.save(&path).unwrap();
        let again = VectorIndex::load(&path).unwrap();
        for q in queries.chunks(DIM).take(20) {
            assert_eq!(
                index.search_with_ef(q, 10, 64).unwrap(),
                again.search_with_ef(q, 10, 64).unwrap()
            );
        }
    }
}

#[test]
fn batch_builder_handles_duplicates_and_tiny_dimensions() {
    // Many identical vectors (ties everywhere) and a 2-d space.
    let n = 3000;
    let mut rows = Vec::with_capacity(n * 2);
    for i in 0..n {
        let v = (i % 7) as f32;
        rows.extend_from_slice(&[v + 1.0, 1.0]);
    }
    let ids: Vec<u64> = (0..n as u64).collect();
    let index = VectorIndex::new(
        2,
        DistanceMetric::Euclidean,
        HnswParams::default().with_m(4),
    )
    .unwrap();
    index.insert_batch(&ids, &rows).unwrap();
    assert_eq!(index.len(), n);
    let hits = index.search_with_ef(&[3.0, 1.0], 5, 200).unwrap();
    assert_eq!(hits.len(), 5);
    for h in &hits {
        assert_eq!(h.id % 7, 2, "only exact matches of (3, 1): {h:?}");
        assert!(h.distance.abs() < 1e-6);
    }
}
