//! The wiki-ir retrieval set (`../shared/data/wiki-ir`): loading and IR metrics, shared by
//! the quality test and the `wiki_ir` benchmark.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::Value;

/// The data folder, or `None` (with a message) when it is absent outside CI. Under CI
/// (`CI` set) a missing folder is a failure.
pub fn data_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/wiki-ir"
    ));
    if dir.join("corpus.jsonl").exists() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "{} is missing, and CI is set: the shared data must be present",
            dir.display()
        );
    }
    eprintln!(
        "skipped: {} is absent (clone the shared data beside the project to run this)",
        dir.display()
    );
    None
}

pub struct Doc {
    pub id: String,
    pub title: String,
    pub text: String,
    pub topic: String,
}

pub struct WikiIr {
    pub docs: Vec<Doc>,
    /// Row-major, `dim` floats per document, in `docs` order.
    pub doc_emb: Vec<f32>,
    pub queries: Vec<(String, String)>,
    pub query_emb: Vec<f32>,
    pub dim: usize,
    /// Query id → the one relevant document id.
    pub qrels: HashMap<String, String>,
}

fn jsonl(path: PathBuf) -> Vec<Value> {
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

pub fn load(dir: &std::path::Path) -> WikiIr {
    let s = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    let docs: Vec<Doc> = jsonl(dir.join("corpus.jsonl"))
        .iter()
        .map(|v| Doc {
            id: s(v, "id"),
            title: s(v, "title"),
            text: s(v, "text"),
            topic: s(v, "topic"),
        })
        .collect();
    let queries: Vec<(String, String)> = jsonl(dir.join("queries.jsonl"))
        .iter()
        .map(|v| (s(v, "id"), s(v, "text")))
        .collect();
    let (doc_emb, dim) = toondb::vector::read_npy_f32(dir.join("corpus_emb.npy")).unwrap();
    let (query_emb, qdim) = toondb::vector::read_npy_f32(dir.join("query_emb.npy")).unwrap();
    assert_eq!(dim, qdim);
    assert_eq!(doc_emb.len(), docs.len() * dim);
    assert_eq!(query_emb.len(), queries.len() * dim);
    let ids = std::fs::read_to_string(dir.join("corpus_ids.txt")).unwrap();
    assert!(
        ids.lines().zip(&docs).all(|(a, d)| a == d.id),
        "corpus_ids.txt order"
    );
    let qrels = std::fs::read_to_string(dir.join("qrels.tsv"))
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut it = l.split('\t');
            Some((it.next()?.to_string(), it.next()?.to_string()))
        })
        .collect();
    WikiIr {
        docs,
        doc_emb,
        queries,
        query_emb,
        dim,
        qrels,
    }
}

/// nDCG@10, Recall@100 and MRR@10 with one relevant document per query.
#[derive(Debug, Default, Clone, Copy)]
pub struct Metrics {
    pub ndcg10: f64,
    pub recall100: f64,
    pub mrr10: f64,
}

pub fn evaluate(rankings: &[(String, Vec<String>)], qrels: &HashMap<String, String>) -> Metrics {
    let mut m = Metrics::default();
    for (qid, ranked) in rankings {
        let rel = &qrels[qid];
        if let Some(pos) = ranked.iter().position(|d| d == rel) {
            if pos < 10 {
                m.ndcg10 += 1.0 / ((pos + 2) as f64).log2();
                m.mrr10 += 1.0 / (pos + 1) as f64;
            }
            if pos < 100 {
                m.recall100 += 1.0;
            }
        }
    }
    let n = rankings.len().max(1) as f64;
    Metrics {
        ndcg10: m.ndcg10 / n,
        recall100: m.recall100 / n,
        mrr10: m.mrr10 / n,
    }
}
