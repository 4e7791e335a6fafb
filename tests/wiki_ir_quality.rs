//! Retrieval quality on a slice of the real wiki-ir set: vector, BM25 and hybrid search
//! through collections, scored with nDCG@10 / Recall@100 against the relevance labels,
//! and the approximate vector search checked against exact search on the same slice.

mod common;

use std::collections::{BTreeMap, HashSet};

use common::wiki_ir::{self, Metrics};
use serde_json::json;
use toondb::{CollectionConfig, Database, Document};

const QUERIES: usize = 150;
const DOCS: usize = 1_000;

#[test]
fn hybrid_beats_both_single_modes_on_a_wiki_ir_slice() {
    let Some(dir) = wiki_ir::data_dir() else {
        return;
    };
    let data = wiki_ir::load(&dir);
    let dim = data.dim;
    // The slice: the first QUERIES queries, their relevant documents, and other
    // documents up to DOCS.
    let queries: Vec<usize> = (0..data.queries.len())
        .filter(|&i| data.qrels.contains_key(&data.queries[i].0))
        .take(QUERIES)
        .collect();
    let relevant: HashSet<&str> = queries
        .iter()
        .map(|&i| data.qrels[&data.queries[i].0].as_str())
        .collect();
    let mut chosen: Vec<usize> = (0..data.docs.len())
        .filter(|&i| relevant.contains(data.docs[i].id.as_str()))
        .collect();
    chosen.extend(
        (0..data.docs.len())
            .filter(|&i| !relevant.contains(data.docs[i].id.as_str()))
            .take(DOCS - chosen.len()),
    );

    let tmp = tempfile::tempdir().unwrap();
    let db = Database::open(tmp.path()).unwrap();
    let ns = db
        .create_namespace("wiki", "Wikipedia", BTreeMap::new())
        .unwrap();
    let coll = ns
        .create_collection(CollectionConfig::new("articles", dim))
        .unwrap();
    let docs: Vec<Document> = chosen
        .iter()
        .map(|&i| {
            let d = &data.docs[i];
            Document::new(d.id.clone(), data.doc_emb[i * dim..(i + 1) * dim].to_vec())
                .metadata(json!({"title": d.title, "topic": d.topic}))
                .content(format!("{}. {}", d.title, d.text))
        })
        .collect();
    let t = std::time::Instant::now();
    coll.insert_batch(docs).unwrap();
    eprintln!("ingested {} documents in {:?}", chosen.len(), t.elapsed());
    let t = std::time::Instant::now();

    let ids = |hits: Vec<toondb::SearchResult>| hits.into_iter().map(|h| h.id).collect::<Vec<_>>();
    let mut runs: BTreeMap<&str, Vec<(String, Vec<String>)>> = BTreeMap::new();
    for &qi in &queries {
        let (qid, text) = &data.queries[qi];
        let q = &data.query_emb[qi * dim..(qi + 1) * dim];
        let mut push = |name, ranked| runs.entry(name).or_default().push((qid.clone(), ranked));
        push("vector", ids(coll.search(q, 100, None).unwrap()));
        push("bm25", ids(coll.keyword_search(text, 100, None).unwrap()));
        push(
            "hybrid-rrf",
            ids(coll.hybrid_search(q, text, 100, 0.5, true, None).unwrap()),
        );
        push(
            "hybrid-alpha",
            ids(coll.hybrid_search(q, text, 100, 0.5, false, None).unwrap()),
        );
        // Exact cosine over the slice, the reference for the approximate index.
        let mut exact: Vec<(f32, usize)> = chosen
            .iter()
            .map(|&i| {
                let v = &data.doc_emb[i * dim..(i + 1) * dim];
                (v.iter().zip(q).map(|(a, b)| a * b).sum::<f32>(), i)
            })
            .collect();
        exact.sort_by(|a, b| b.0.total_cmp(&a.0));
        push(
            "exact",
            exact
                .iter()
                .take(100)
                .map(|&(_, i)| data.docs[i].id.clone())
                .collect(),
        );
    }
    eprintln!(
        "{} queries × 5 searches in {:?}",
        queries.len(),
        t.elapsed()
    );
    let m: BTreeMap<&str, Metrics> = runs
        .iter()
        .map(|(k, v)| (*k, wiki_ir::evaluate(v, &data.qrels)))
        .collect();
    for (name, x) in &m {
        eprintln!(
            "{name:>12}: nDCG@10 {:.4}  Recall@100 {:.4}  MRR@10 {:.4}",
            x.ndcg10, x.recall100, x.mrr10
        );
    }
    // A broken analyzer or index shows up far below these floors.
    assert!(m["bm25"].ndcg10 > 0.65, "BM25 nDCG@10 {}", m["bm25"].ndcg10);
    assert!(
        m["vector"].ndcg10 >= m["exact"].ndcg10 - 0.01,
        "HNSW loses quality against exact search"
    );
    assert!(m["vector"].recall100 >= m["exact"].recall100 - 0.01);
    for fused in ["hybrid-rrf", "hybrid-alpha"] {
        assert!(
            m[fused].ndcg10 > m["bm25"].ndcg10 && m[fused].ndcg10 > m["vector"].ndcg10,
            "{fused} must beat both single modes"
        );
    }
}
