//! Retrieval quality and speed of collections on the full wiki-ir set (10,033 Wikipedia
//! summaries, 4,365 queries, MiniLM embeddings): nDCG@10, Recall@100 and MRR@10 for
//! vector, BM25 and hybrid search next to the set's reference numbers, ingestion rate,
//! and per-mode query latency (p50/p99).
//!
//! ```text
//! cargo bench --bench wiki_ir
//! ```

#[path = "../tests/common/wiki_ir.rs"]
mod wiki_ir;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::json;
use toondb::{CollectionConfig, Database, Document, SearchResult};

fn pct(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let Some(dir) = wiki_ir::data_dir() else {
        return;
    };
    let data = wiki_ir::load(&dir);
    let dim = data.dim;
    let tmp = tempfile::tempdir().unwrap();
    let db = Database::open(tmp.path()).unwrap();
    let ns = db
        .create_namespace("wiki", "Wikipedia", BTreeMap::new())
        .unwrap();
    let coll = ns
        .create_collection(CollectionConfig::new("articles", dim))
        .unwrap();

    // Ingestion, in batches of 1,000 documents (one storage transaction each).
    let t = Instant::now();
    for (chunk_no, chunk) in data.docs.chunks(1000).enumerate() {
        let docs = chunk
            .iter()
            .enumerate()
            .map(|(j, d)| {
                let i = chunk_no * 1000 + j;
                Document::new(d.id.clone(), data.doc_emb[i * dim..(i + 1) * dim].to_vec())
                    .metadata(json!({"title": d.title, "topic": d.topic}))
                    .content(format!("{}. {}", d.title, d.text))
            })
            .collect();
        coll.insert_batch(docs).unwrap();
    }
    // One keyword search makes the staged text searchable; count it in ingestion.
    coll.keyword_search("warm up", 1, None).unwrap();
    let ingest = t.elapsed();
    println!(
        "ingested {} documents in {:.2} s: {:.0} docs/s (vectors + BM25 + metadata, durable)",
        data.docs.len(),
        ingest.as_secs_f64(),
        data.docs.len() as f64 / ingest.as_secs_f64()
    );

    type Run<'a> = Box<dyn Fn(&[f32], &str) -> Vec<SearchResult> + 'a>;
    let modes: Vec<(&str, Run<'_>)> = vec![
        (
            "vector (HNSW, ef=100)",
            Box::new(|q, _| coll.search(q, 100, None).unwrap()),
        ),
        (
            "BM25",
            Box::new(|_, t| coll.keyword_search(t, 100, None).unwrap()),
        ),
        (
            "hybrid RRF k=60",
            Box::new(|q, t| coll.hybrid_search(q, t, 100, 0.5, true, None).unwrap()),
        ),
        (
            "hybrid alpha=0.3",
            Box::new(|q, t| coll.hybrid_search(q, t, 100, 0.3, false, None).unwrap()),
        ),
        (
            "hybrid alpha=0.5",
            Box::new(|q, t| coll.hybrid_search(q, t, 100, 0.5, false, None).unwrap()),
        ),
        (
            "hybrid alpha=0.7",
            Box::new(|q, t| coll.hybrid_search(q, t, 100, 0.7, false, None).unwrap()),
        ),
    ];
    println!();
    println!("| mode | nDCG@10 | Recall@100 | MRR@10 | p50 | p99 |");
    println!("|---|---|---|---|---|---|");
    let mut results = BTreeMap::new();
    for (name, run) in &modes {
        let mut rankings = Vec::with_capacity(data.queries.len());
        let mut times = Vec::with_capacity(data.queries.len());
        for (qi, (qid, text)) in data.queries.iter().enumerate() {
            let q = &data.query_emb[qi * dim..(qi + 1) * dim];
            let t = Instant::now();
            let hits = run(q, text);
            times.push(t.elapsed());
            rankings.push((
                qid.clone(),
                hits.into_iter().map(|h| h.id).collect::<Vec<_>>(),
            ));
        }
        let m = wiki_ir::evaluate(&rankings, &data.qrels);
        println!(
            "| {name} | {:.4} | {:.4} | {:.4} | {:.2} ms | {:.2} ms |",
            m.ndcg10,
            m.recall100,
            m.mrr10,
            pct(times.clone(), 0.5).as_secs_f64() * 1e3,
            pct(times, 0.99).as_secs_f64() * 1e3
        );
        results.insert(*name, m);
    }
    // Exact cosine, to separate index quality from embedding quality.
    let mut rankings = Vec::new();
    for (qi, (qid, _)) in data.queries.iter().enumerate() {
        let q = &data.query_emb[qi * dim..(qi + 1) * dim];
        let mut s: Vec<(f32, usize)> = (0..data.docs.len())
            .map(|i| {
                (
                    data.doc_emb[i * dim..(i + 1) * dim]
                        .iter()
                        .zip(q)
                        .map(|(a, b)| a * b)
                        .sum(),
                    i,
                )
            })
            .collect();
        s.sort_by(|a, b| b.0.total_cmp(&a.0));
        rankings.push((
            qid.clone(),
            s.iter()
                .take(100)
                .map(|&(_, i)| data.docs[i].id.clone())
                .collect(),
        ));
    }
    let exact = wiki_ir::evaluate(&rankings, &data.qrels);
    println!(
        "| exact cosine (brute force, reference for HNSW) | {:.4} | {:.4} | {:.4} | | |",
        exact.ndcg10, exact.recall100, exact.mrr10
    );
    println!();
    println!(
        "Reference (shared/data/wiki-ir/README.md): BM25 k1=1.2 0.7074 / 0.9464 / 0.6636; dense exact 0.6462 / 0.9853 / 0.5765; RRF k=60 0.7229 / 0.9892 / 0.6667"
    );
    let best_single = results["BM25"]
        .ndcg10
        .max(results["vector (HNSW, ef=100)"].ndcg10);
    println!(
        "hybrid RRF beats both single modes on nDCG@10: {} ({:.4} vs {:.4})",
        results["hybrid RRF k=60"].ndcg10 > best_single,
        results["hybrid RRF k=60"].ndcg10,
        best_single
    );
}
