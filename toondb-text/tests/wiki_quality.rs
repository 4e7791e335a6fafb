//! Retrieval quality on real data (wiki-ir): toondb-text's BM25 on the full corpus and the
//! first queries, against the README's BM25 figure and against a brute-force BM25 written
//! from the README's recipe (same queries, same corpus). The benchmark `bm25_quality` runs
//! all 4,365 queries, both analyzers and several field layouts.

#[path = "common/wiki.rs"]
mod wiki;

use toondb_text::{Analyzer, TextDocument, TextIndex, TextOp, TextSchema};
use wiki::Metrics;

/// Queries evaluated (the first ones of queries.jsonl). Kept small: debug-mode tantivy is slow.
const SLICE: usize = 200;

#[test]
fn bm25_matches_the_reference_on_wiki_ir() {
    let Some(dir) = wiki::data_or_skip("wiki_quality") else {
        return;
    };
    let data = wiki::load(&dir);
    assert_eq!(data.docs.len(), 10_033);
    assert_eq!(data.queries.len(), 4_365);
    let queries: Vec<(&str, u64)> = data
        .queries
        .iter()
        .zip(&data.relevant)
        .take(SLICE)
        .map(|((_, q), &rel)| (q.as_str(), rel))
        .collect();
    let texts: Vec<String> = data.docs.iter().map(wiki::joined).collect();
    let reference = wiki::RefBm25::new(
        texts.iter().map(String::as_str),
        queries.iter().map(|(q, _)| *q),
    );

    // The README's recipe: one field "title. text", lowercase + letter/digit runs = Plain.
    let index = TextIndex::builder()
        .writer_threads(2)
        .in_memory(TextSchema::single("body", Analyzer::Plain).unwrap())
        .unwrap();
    index
        .apply(
            texts
                .iter()
                .enumerate()
                .map(|(i, t)| TextOp::Add(TextDocument::new(i as u64).with("body", t.as_str()))),
        )
        .unwrap();
    index.commit(1).unwrap();
    assert_eq!(index.len(), data.docs.len() as u64);

    let (mut m_ref, mut m_ours) = (Metrics::default(), Metrics::default());
    let mut same_top1 = 0;
    for &(q, rel) in &queries {
        let r = reference.search(q, 100);
        let ours: Vec<u64> = index
            .search(q, 100)
            .unwrap()
            .into_iter()
            .map(|h| h.0)
            .collect();
        same_top1 += usize::from(r.first() == ours.first());
        m_ref.add(&r, rel);
        m_ours.add(&ours, rel);
    }
    let (r, o) = (m_ref.mean(), m_ours.mean());
    eprintln!(
        "first {SLICE} queries: toondb-text nDCG@10 {:.4} R@100 {:.4}; brute-force reference \
         nDCG@10 {:.4} R@100 {:.4}; same top-1 {same_top1}/{SLICE}; README (all queries) {:.4}",
        o.ndcg10,
        o.recall100,
        r.ndcg10,
        r.recall100,
        wiki::REF_BM25_NDCG10
    );

    // Near the README's BM25 figure. On this slice the brute-force reference scores 0.7262
    // (0.7075 on all queries, matching the README's 0.7074): the slice sits ~0.02 above by
    // sampling. Broken analyzers measured on this slice: no lowercasing 0.655, splitting on
    // whitespace only 0.580, both well outside 0.03 of the README figure.
    assert!(
        (o.ndcg10 - wiki::REF_BM25_NDCG10).abs() <= 0.03,
        "nDCG@10 {:.4} vs README {:.4}",
        o.ndcg10,
        wiki::REF_BM25_NDCG10
    );
    // Same queries, same tokenization: only tantivy's one-byte length norms differ from the
    // brute-force reference, so the two agree closely, query by query.
    assert!(
        (o.ndcg10 - r.ndcg10).abs() <= 0.015,
        "nDCG@10 {:.4} vs reference {:.4}",
        o.ndcg10,
        r.ndcg10
    );
    assert!(
        (o.recall100 - r.recall100).abs() <= 0.015,
        "R@100 {:.4} vs reference {:.4}",
        o.recall100,
        r.recall100
    );
    assert!(
        same_top1 * 100 >= SLICE * 90,
        "top-1 agreement {same_top1}/{SLICE}"
    );
}
