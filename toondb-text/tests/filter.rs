//! The allow-list filter is exact: the top-k of the allowed subset, checked against a brute-force
//! filter of the full ranking, for small lists (filtered inside the index) and large ones
//! (hash set), over several segments with deletes.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use proptest::prelude::*;
use toondb_text::{Analyzer, SearchRequest, TextDocument, TextIndex, TextOp, TextSchema};

const WORDS: &[&str] = &[
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
    "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango",
];
const N_DOCS: u64 = 400;

/// A deterministic document: a few words picked by a small LCG from the id.
fn body(id: u64) -> String {
    let mut x = id
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    let len = 3 + (id % 9) as usize;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            // Skew towards the first words so document frequencies differ.
            let r = ((x >> 33) % 1000) as usize;
            WORDS[(r * r / 1000) % WORDS.len()]
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Ids are spread out (id * 7 + 3) so the allow-list may also name absent ids.
fn index() -> &'static TextIndex {
    static INDEX: OnceLock<TextIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let index = TextIndex::builder()
            .writer_threads(2)
            .in_memory(TextSchema::single("body", Analyzer::English).unwrap())
            .unwrap();
        // Three commits = at least three segments; then delete every 10th doc.
        for part in 0..3u64 {
            index
                .apply(
                    (0..N_DOCS)
                        .filter(|i| i % 3 == part)
                        .map(|i| TextOp::Add(TextDocument::new(i * 7 + 3).with("body", body(i)))),
                )
                .unwrap();
            index.commit(part).unwrap();
        }
        index
            .apply((0..N_DOCS).step_by(10).map(|i| TextOp::Delete(i * 7 + 3)))
            .unwrap();
        index.commit(3).unwrap();
        index
    })
}

/// Checks `filtered` against the brute-force top-k of `allowed` within the full ranking.
fn check(query: &str, k: usize, allowed: &[u64]) -> Result<(), TestCaseError> {
    let index = index();
    let all = index.search(query, usize::MAX).unwrap();
    let scores: HashMap<u64, f32> = all.iter().copied().collect();
    let allowed_set: HashSet<u64> = allowed.iter().copied().collect();
    let expected: Vec<(u64, f32)> = all
        .iter()
        .copied()
        .filter(|(id, _)| allowed_set.contains(id))
        .collect();
    let got = index.search_filtered(query, k, allowed).unwrap();
    prop_assert_eq!(
        got.len(),
        expected.len().min(k),
        "query {:?} k {}",
        query,
        k
    );
    for (i, (id, score)) in got.iter().enumerate() {
        prop_assert!(allowed_set.contains(id), "{} not allowed", id);
        let full = scores.get(id).copied();
        prop_assert!(
            full.is_some_and(|s| (s - score).abs() <= 1e-5),
            "score of {}: {} vs {:?}",
            id,
            score,
            full
        );
        // Same score sequence as the brute force (ids may differ only among ties).
        prop_assert!(
            (expected[i].1 - score).abs() <= 1e-5,
            "rank {}: {:?} vs {:?}",
            i,
            got,
            expected
        );
    }
    Ok(())
}

fn query_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(WORDS), 1..4).prop_map(|w| w.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn small_allow_lists_are_exact(
        query in query_strategy(),
        k in 1usize..30,
        picks in prop::collection::vec(0u64..N_DOCS * 8, 0..40),
    ) {
        check(&query, k, &picks)?;
    }

    #[test]
    fn large_allow_lists_are_exact(
        query in query_strategy(),
        k in 1usize..30,
        keep_mod in 2u64..7,
    ) {
        // Thousands of ids (most of them absent) over 400 docs take the hash-set path; the
        // small lists above take the direct (id by id) path.
        let allowed: Vec<u64> = (0..N_DOCS * 7 + 30_000).filter(|id| id % keep_mod == 0).collect();
        prop_assert!(allowed.len() > 4096);
        check(&query, k, &allowed)?;
    }
}

#[test]
fn a_low_ranked_document_is_found_when_it_is_the_only_one_allowed() {
    let index = index();
    let all = index.search("alpha", usize::MAX).unwrap();
    assert!(all.len() > 50, "alpha is common: {}", all.len());
    let (last_id, last_score) = *all.last().unwrap();
    // Far below any global top-10, yet the filtered top-1.
    let got = index.search_filtered("alpha", 10, &[last_id]).unwrap();
    assert_eq!(got, vec![(last_id, last_score)]);
    // Same through the large path: the id plus 5000 absent ones.
    let mut big: Vec<u64> = (1_000_000..1_005_000).collect();
    big.push(last_id);
    assert_eq!(
        index.search_filtered("alpha", 10, &big).unwrap(),
        vec![(last_id, last_score)]
    );
    // Duplicates in the allow-list change nothing.
    assert_eq!(
        index
            .search_filtered("alpha", 10, &[last_id, last_id, last_id])
            .unwrap(),
        vec![(last_id, last_score)]
    );
}

#[test]
fn deleted_and_absent_ids_in_the_allow_list_are_ignored() {
    let index = index();
    let deleted = 3; // doc 0 (id 3) was deleted
    let absent = 4; // ids are 7i + 3
    assert!(
        index
            .search_filtered("alpha bravo charlie delta", 10, &[deleted, absent])
            .unwrap()
            .is_empty()
    );
}

#[test]
fn filters_combine_with_field_restriction() {
    let index = index();
    let allowed: Vec<u64> = (0..50).map(|i| i * 7 + 3).collect();
    let a = index.search_filtered("echo golf", 5, &allowed).unwrap();
    let b = index
        .search_request(
            &SearchRequest::new("echo golf", 5)
                .fields(&["body"])
                .allow(&allowed),
        )
        .unwrap();
    assert_eq!(a, b);
}
