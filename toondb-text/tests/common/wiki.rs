//! Loader and metrics for the wiki-ir retrieval set (`../shared/data/wiki-ir`), shared by the
//! quality test and the `bm25_quality` benchmark.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The data folder, relative to this crate.
pub fn data_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/wiki-ir"
    ))
}

/// `Some(dir)` when the data is present; otherwise prints a skip message, or panics when the
/// `CI` environment variable is set (CI must have the data).
pub fn data_or_skip(what: &str) -> Option<PathBuf> {
    let dir = data_dir();
    if dir.join("corpus.jsonl").is_file() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "{what}: wiki-ir data missing at {} (required when CI is set)",
            dir.display()
        );
    }
    eprintln!("SKIP {what}: wiki-ir data not found at {}", dir.display());
    None
}

/// One corpus document.
pub struct Doc {
    pub title: String,
    pub text: String,
    pub topic: String,
}

/// The corpus (document i has id i), the queries and, per query, the id of its relevant doc.
pub struct WikiIr {
    pub docs: Vec<Doc>,
    pub queries: Vec<(String, String)>,
    pub relevant: Vec<u64>,
}

fn field(v: &serde_json::Value, name: &str) -> String {
    v.get(name)
        .and_then(|x| x.as_str())
        .unwrap_or_else(|| panic!("missing string field {name:?} in {v}"))
        .to_string()
}

/// Loads the set; every query has exactly one relevant document (see the README).
pub fn load(dir: &Path) -> WikiIr {
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"))
    };
    let mut docs = Vec::new();
    let mut doc_ids = HashMap::new();
    for line in read("corpus.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let v: serde_json::Value = serde_json::from_str(line).expect("corpus line is JSON");
        doc_ids.insert(field(&v, "id"), docs.len() as u64);
        docs.push(Doc {
            title: field(&v, "title"),
            text: field(&v, "text"),
            topic: field(&v, "topic"),
        });
    }
    let mut qrels = HashMap::new();
    for line in read("qrels.tsv")
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
    {
        let mut parts = line.split('\t');
        let (q, d) = (
            parts.next().expect("query id"),
            parts.next().expect("doc id"),
        );
        qrels.insert(
            q.to_string(),
            *doc_ids.get(d).expect("qrel names a corpus doc"),
        );
    }
    let mut queries = Vec::new();
    let mut relevant = Vec::new();
    for line in read("queries.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let v: serde_json::Value = serde_json::from_str(line).expect("query line is JSON");
        let id = field(&v, "id");
        relevant.push(*qrels.get(&id).expect("every query has a qrel"));
        queries.push((id, field(&v, "text")));
    }
    WikiIr {
        docs,
        queries,
        relevant,
    }
}

/// Mean metrics over queries with one relevant document each.
#[derive(Debug, Default, Clone, Copy)]
pub struct Metrics {
    pub ndcg10: f64,
    pub recall100: f64,
    pub mrr10: f64,
    pub n: usize,
}

impl Metrics {
    /// Adds one query's ranking.
    pub fn add(&mut self, ranking: &[u64], relevant: u64) {
        if let Some(pos) = ranking.iter().position(|&id| id == relevant) {
            if pos < 10 {
                self.ndcg10 += 1.0 / ((pos + 2) as f64).log2();
                self.mrr10 += 1.0 / (pos + 1) as f64;
            }
            if pos < 100 {
                self.recall100 += 1.0;
            }
        }
        self.n += 1;
    }

    /// The means.
    pub fn mean(self) -> Metrics {
        let n = self.n.max(1) as f64;
        Metrics {
            ndcg10: self.ndcg10 / n,
            recall100: self.recall100 / n,
            mrr10: self.mrr10 / n,
            n: self.n,
        }
    }
}

/// The README's BM25 reference (k1=1.2, b=0.75) over all 4,365 queries.
pub const REF_BM25_NDCG10: f64 = 0.7074;
pub const REF_BM25_RECALL100: f64 = 0.9464;
pub const REF_BM25_MRR10: f64 = 0.6636;

/// The reference tokenizer of the README: lowercase, runs of letters/digits.
pub fn ref_tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect()
}

/// A brute-force BM25 (Lucene formula, k1 = 1.2, b = 0.75, exact document lengths) over
/// `texts`, independent of tantivy: the reference the engine is checked against.
pub struct RefBm25 {
    postings: HashMap<String, Vec<(u32, u32)>>,
    doc_len: Vec<f64>,
    avg_len: f64,
}

impl RefBm25 {
    /// Indexes `texts`, keeping postings only for the terms of `queries` (the only ones
    /// [`search`](Self::search) will be asked about; document lengths count every token).
    pub fn new<'a>(
        texts: impl IntoIterator<Item = &'a str>,
        queries: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let vocabulary: std::collections::HashSet<String> =
            queries.into_iter().flat_map(ref_tokens).collect();
        let mut postings: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
        let mut doc_len = Vec::new();
        for (d, text) in texts.into_iter().enumerate() {
            let tokens = ref_tokens(text);
            doc_len.push(tokens.len() as f64);
            let mut tf: HashMap<String, u32> = HashMap::new();
            for t in tokens {
                if vocabulary.contains(&t) {
                    *tf.entry(t).or_default() += 1;
                }
            }
            for (t, n) in tf {
                postings.entry(t).or_default().push((d as u32, n));
            }
        }
        let avg_len = doc_len.iter().sum::<f64>() / doc_len.len().max(1) as f64;
        RefBm25 {
            postings,
            doc_len,
            avg_len,
        }
    }

    /// The top `k` document indexes for `query`, best first (ties by index).
    pub fn search(&self, query: &str, k: usize) -> Vec<u64> {
        let (k1, b) = (1.2, 0.75);
        let n = self.doc_len.len() as f64;
        let mut scores: HashMap<u32, f64> = HashMap::new();
        for term in ref_tokens(query) {
            let Some(list) = self.postings.get(&term) else {
                continue;
            };
            let df = list.len() as f64;
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            for &(d, tf) in list {
                let tf = tf as f64;
                let norm = k1 * (1.0 - b + b * self.doc_len[d as usize] / self.avg_len);
                *scores.entry(d).or_default() += idf * tf * (k1 + 1.0) / (tf + norm);
            }
        }
        let mut ranked: Vec<(u32, f64)> = scores.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(k);
        ranked.into_iter().map(|(d, _)| d as u64).collect()
    }
}

/// The text indexed for document `d`: what the README's systems saw ("title. text").
pub fn joined(d: &Doc) -> String {
    format!("{}. {}", d.title, d.text)
}
