//! BM25 quality and speed of `toondb-text` on the full wiki-ir set (10,033 Wikipedia summaries,
//! 4,365 queries), next to the README's reference numbers and to raw tantivy (the engine
//! underneath, driven directly with its default tokenizer and lenient query parser).
//!
//! Run: `cargo bench -p toondb-text --bench bm25_quality`
//! (or `cargo run --release -p toondb-text --bench bm25_quality`).
//! Prints ingestion rate, nDCG@10 / Recall@100 / MRR@10, query latency p50/p99, the cost of a
//! commit, and ratios against the peer.

use std::time::{Duration, Instant};

use tantivy::collector::TopDocs;
use tantivy::query::QueryParser;
use tantivy::schema::{Schema, TEXT};
use tantivy::{Index, IndexWriter, ReloadPolicy, TantivyDocument};
use toondb_text::{Analyzer, TextDocument, TextField, TextIndex, TextOp, TextSchema};

#[path = "../tests/common/wiki.rs"]
mod wiki;

use wiki::{Metrics, WikiIr};

const BATCH: usize = 1000;

struct Run {
    name: String,
    ingest: Duration,
    metrics: Metrics,
    latency: Vec<Duration>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// How the corpus is mapped onto fields.
#[derive(Clone, Copy)]
enum Layout {
    /// One field holding "title. text" (what the reference indexed).
    Joined,
    /// Two fields, `title` and `text`, BM25 summed over both.
    Split,
}

fn to_doc(id: u64, d: &wiki::Doc, layout: Layout) -> TextDocument {
    match layout {
        Layout::Joined => TextDocument::new(id).with("body", wiki::joined(d)),
        Layout::Split => TextDocument::new(id)
            .with("title", &d.title)
            .with("text", &d.text),
    }
}

fn run_toondb(
    data: &WikiIr,
    name: &str,
    analyzer: Analyzer,
    layout: Layout,
) -> anyhow::Result<Run> {
    let schema = match layout {
        Layout::Joined => TextSchema::single("body", analyzer)?,
        Layout::Split => TextSchema::builder()
            .field(TextField::new("title").analyzer(analyzer))
            .field(TextField::new("text").analyzer(analyzer))
            .build()?,
    };
    let dir = tempfile::tempdir()?;
    let start = Instant::now();
    let index = TextIndex::create(dir.path(), schema)?;
    for (chunk_no, chunk) in data.docs.chunks(BATCH).enumerate() {
        let base = (chunk_no * BATCH) as u64;
        index.apply(
            chunk
                .iter()
                .enumerate()
                .map(|(i, d)| TextOp::Add(to_doc(base + i as u64, d, layout))),
        )?;
    }
    index.commit(data.docs.len() as u64)?;
    let ingest = start.elapsed();
    assert_eq!(index.len(), data.docs.len() as u64);

    let mut metrics = Metrics::default();
    for ((_, q), &rel) in data.queries.iter().zip(&data.relevant) {
        let ranking: Vec<u64> = index.search(q, 100)?.into_iter().map(|h| h.0).collect();
        metrics.add(&ranking, rel);
    }
    let mut latency = Vec::with_capacity(data.queries.len());
    for (_, q) in &data.queries {
        let t = Instant::now();
        let hits = index.search(q, 10)?;
        latency.push(t.elapsed());
        std::hint::black_box(hits);
    }
    latency.sort();
    Ok(Run {
        name: name.to_string(),
        ingest,
        metrics: metrics.mean(),
        latency,
    })
}

/// The README's BM25 re-implemented by brute force (no tantivy, exact document lengths).
fn run_reference(data: &WikiIr) -> Run {
    let start = Instant::now();
    let texts: Vec<String> = data.docs.iter().map(wiki::joined).collect();
    let bm25 = wiki::RefBm25::new(
        texts.iter().map(String::as_str),
        data.queries.iter().map(|(_, q)| q.as_str()),
    );
    let ingest = start.elapsed();
    let mut metrics = Metrics::default();
    let mut latency = Vec::with_capacity(data.queries.len());
    for ((_, q), &rel) in data.queries.iter().zip(&data.relevant) {
        let t = Instant::now();
        let ranking = bm25.search(q, 100);
        latency.push(t.elapsed());
        metrics.add(&ranking, rel);
    }
    latency.sort();
    Run {
        name: "brute-force BM25 re-implementation (README recipe, no tantivy)".into(),
        ingest,
        metrics: metrics.mean(),
        latency,
    }
}

fn run_raw_tantivy(data: &WikiIr) -> anyhow::Result<Run> {
    let mut b = Schema::builder();
    let id = b.add_u64_field("id", tantivy::schema::FAST);
    let body = b.add_text_field("body", TEXT);
    let schema = b.build();
    let dir = tempfile::tempdir()?;
    let start = Instant::now();
    let index = Index::create_in_dir(dir.path(), schema)?;
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4);
    let mut writer: IndexWriter<TantivyDocument> =
        index.writer_with_num_threads(threads, threads * 32_000_000)?;
    for (i, d) in data.docs.iter().enumerate() {
        let mut doc = TantivyDocument::new();
        doc.add_u64(id, i as u64);
        doc.add_text(body, wiki::joined(d));
        writer.add_document(doc)?;
    }
    writer.commit()?;
    let reader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()?;
    reader.reload()?;
    let ingest = start.elapsed();
    let searcher = reader.searcher();
    let parser = QueryParser::for_index(&index, vec![body]);
    let search = |q: &str, k: usize| -> anyhow::Result<Vec<u64>> {
        let (query, _errors) = parser.parse_query_lenient(q);
        let top = searcher.search(&query, &TopDocs::with_limit(k).order_by_score())?;
        let mut out = Vec::with_capacity(top.len());
        for (_, addr) in top {
            let col = searcher
                .segment_reader(addr.segment_ord)
                .fast_fields()
                .u64("id")?;
            out.push(col.first(addr.doc_id).unwrap_or(u64::MAX));
        }
        Ok(out)
    };
    let mut metrics = Metrics::default();
    for ((_, q), &rel) in data.queries.iter().zip(&data.relevant) {
        metrics.add(&search(q, 100)?, rel);
    }
    let mut latency = Vec::with_capacity(data.queries.len());
    for (_, q) in &data.queries {
        let t = Instant::now();
        let hits = search(q, 10)?;
        latency.push(t.elapsed());
        std::hint::black_box(hits);
    }
    latency.sort();
    Ok(Run {
        name: "raw tantivy (default tokenizer, lenient QueryParser), title. text".into(),
        ingest,
        metrics: metrics.mean(),
        latency,
    })
}

/// Filtered search on real metadata: the allow-list is every document of the relevant
/// document's topic (small lists, direct id-by-id path) or all documents but every 97th (large
/// lists, hash-set path); the relevant document is always allowed.
fn run_filtered(data: &WikiIr) -> anyhow::Result<()> {
    let index = TextIndex::in_memory(TextSchema::single("body", Analyzer::English)?)?;
    index.apply(
        data.docs
            .iter()
            .enumerate()
            .map(|(i, d)| TextOp::Add(to_doc(i as u64, d, Layout::Joined))),
    )?;
    index.commit(1)?;
    let mut by_topic: std::collections::BTreeMap<&str, Vec<u64>> = Default::default();
    for (i, d) in data.docs.iter().enumerate() {
        by_topic.entry(d.topic.as_str()).or_default().push(i as u64);
    }
    for large in [false, true] {
        let mut metrics = Metrics::default();
        let mut latency = Vec::new();
        let mut list_len = 0usize;
        for ((_, q), &rel) in data.queries.iter().zip(&data.relevant) {
            let topic = data.docs[rel as usize].topic.as_str();
            let allowed: Vec<u64> = if large {
                (0..data.docs.len() as u64)
                    .filter(|&id| id % 97 != 0 || id == rel)
                    .collect()
            } else {
                by_topic[topic].clone()
            };
            list_len += allowed.len();
            let t = Instant::now();
            let hits = index.search_filtered(q, 100, &allowed)?;
            latency.push(t.elapsed());
            metrics.add(&hits.iter().map(|h| h.0).collect::<Vec<_>>(), rel);
        }
        latency.sort();
        let m = metrics.mean();
        println!(
            "  filter = {:<42} avg list {:>5}  nDCG@10 {:.4}  R@100 {:.4}  p50 {:>7.0} us  p99 {:>7.0} us",
            if large {
                "all but every 97th doc (hash-set path)"
            } else {
                "relevant doc's topic (direct path)"
            },
            list_len / data.queries.len().max(1),
            m.ndcg10,
            m.recall100,
            us(percentile(&latency, 0.5)),
            us(percentile(&latency, 0.99)),
        );
    }
    Ok(())
}

/// The cost of one commit after staging `n` documents, on disk and in memory.
fn commit_costs(data: &WikiIr) -> anyhow::Result<()> {
    for on_disk in [true, false] {
        for n in [1usize, 100, 1000] {
            let schema = TextSchema::single("body", Analyzer::English)?;
            let dir = tempfile::tempdir()?;
            let index = if on_disk {
                TextIndex::create(dir.path(), schema)?
            } else {
                TextIndex::in_memory(schema)?
            };
            let rounds = 10;
            let mut total = Duration::ZERO;
            for r in 0..rounds {
                let base = (r * n) as u64;
                index.apply((0..n).map(|i| {
                    let d = &data.docs[(r * n + i) % data.docs.len()];
                    TextOp::Add(to_doc(base + i as u64, d, Layout::Joined))
                }))?;
                let t = Instant::now();
                index.commit(r as u64)?;
                total += t.elapsed();
            }
            println!(
                "  commit after staging {n:>4} docs, {:<6}: {:>8.2} ms (mean of {rounds})",
                if on_disk { "disk" } else { "memory" },
                total.as_secs_f64() * 1e3 / rounds as f64
            );
        }
    }
    Ok(())
}

fn print_run(r: &Run, n_docs: usize) {
    println!(
        "{:<68} {:>8.0} docs/s  nDCG@10 {:.4}  R@100 {:.4}  MRR@10 {:.4}  p50 {:>6.0} us  p99 {:>6.0} us",
        r.name,
        n_docs as f64 / r.ingest.as_secs_f64(),
        r.metrics.ndcg10,
        r.metrics.recall100,
        r.metrics.mrr10,
        us(percentile(&r.latency, 0.5)),
        us(percentile(&r.latency, 0.99)),
    );
}

fn main() -> anyhow::Result<()> {
    let Some(dir) = wiki::data_or_skip("bm25_quality benchmark") else {
        return Ok(());
    };
    let data = wiki::load(&dir);
    println!(
        "wiki-ir: {} docs, {} queries; ingestion = stage in batches of {BATCH} + one commit, on disk; \
         latency = single-thread search(k=10) over all queries",
        data.docs.len(),
        data.queries.len()
    );
    println!(
        "{:<68} {:>15}  nDCG@10 {:.4}  R@100 {:.4}  MRR@10 {:.4}",
        "README reference: BM25 k1=1.2 b=0.75, lowercase + letter/digit runs",
        "",
        wiki::REF_BM25_NDCG10,
        wiki::REF_BM25_RECALL100,
        wiki::REF_BM25_MRR10
    );
    let runs = [
        run_toondb(
            &data,
            "toondb-text Plain,   one field \"title. text\"",
            Analyzer::Plain,
            Layout::Joined,
        )?,
        run_toondb(
            &data,
            "toondb-text English, one field \"title. text\"",
            Analyzer::English,
            Layout::Joined,
        )?,
        run_toondb(
            &data,
            "toondb-text English, fields title + text",
            Analyzer::English,
            Layout::Split,
        )?,
    ];
    let peer = run_raw_tantivy(&data)?;
    print_run(&run_reference(&data), data.docs.len());
    for r in &runs {
        print_run(r, data.docs.len());
    }
    print_run(&peer, data.docs.len());
    let plain = &runs[0];
    println!(
        "ratios (toondb-text Plain joined / raw tantivy): ingestion {:.2}x, p50 latency {:.2}x, p99 latency {:.2}x, nDCG@10 {:.3}x",
        (data.docs.len() as f64 / plain.ingest.as_secs_f64())
            / (data.docs.len() as f64 / peer.ingest.as_secs_f64()),
        percentile(&plain.latency, 0.5).as_secs_f64()
            / percentile(&peer.latency, 0.5).as_secs_f64(),
        percentile(&plain.latency, 0.99).as_secs_f64()
            / percentile(&peer.latency, 0.99).as_secs_f64(),
        plain.metrics.ndcg10 / peer.metrics.ndcg10,
    );
    for r in &runs {
        println!(
            "vs README BM25 reference: {:<46} nDCG@10 {:+.4}  R@100 {:+.4}",
            r.name,
            r.metrics.ndcg10 - wiki::REF_BM25_NDCG10,
            r.metrics.recall100 - wiki::REF_BM25_RECALL100
        );
    }
    println!("filtered search (allow-list from the topic metadata), k=100, in memory:");
    run_filtered(&data)?;
    println!("commit cost:");
    commit_costs(&data)?;
    Ok(())
}
