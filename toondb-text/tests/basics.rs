//! Behaviour of `TextIndex`: ranking, analyzers, writes, commits and visibility.

use toondb_text::{
    Analyzer, Error, SearchRequest, TextDocument, TextField, TextIndex, TextOp, TextSchema,
};

fn body_index(analyzer: Analyzer) -> TextIndex {
    TextIndex::builder()
        .writer_threads(1)
        .in_memory(TextSchema::single("body", analyzer).unwrap())
        .unwrap()
}

fn doc(id: u64, body: &str) -> TextDocument {
    TextDocument::new(id).with("body", body)
}

fn ids(hits: &[(u64, f32)]) -> Vec<u64> {
    hits.iter().map(|h| h.0).collect()
}

#[test]
fn more_matching_terms_rank_higher() {
    let index = body_index(Analyzer::English);
    index
        .apply([
            TextOp::Add(doc(1, "the quick brown fox")),
            TextOp::Add(doc(2, "the quick brown fox jumps over the lazy dog")),
            TextOp::Add(doc(3, "a lazy afternoon")),
            TextOp::Add(doc(4, "nothing relevant here at all")),
        ])
        .unwrap();
    index.commit(1).unwrap();
    let hits = index.search("lazy fox jumps", 10).unwrap();
    // Doc 2 has all three terms, docs 1 and 3 one each, doc 4 none.
    assert_eq!(hits[0].0, 2);
    assert_eq!(hits.len(), 3);
    assert!(!ids(&hits).contains(&4));
    assert!(
        hits.windows(2).all(|w| w[0].1 >= w[1].1),
        "scores descend: {hits:?}"
    );
    assert!(hits.iter().all(|h| h.1 > 0.0 && h.1.is_finite()));
}

#[test]
fn higher_term_frequency_and_rarer_terms_score_higher() {
    let index = body_index(Analyzer::Plain);
    index
        .apply([
            TextOp::Add(doc(1, "rust rust rust and more")),
            TextOp::Add(doc(2, "rust and more words")),
            TextOp::Add(doc(3, "common zebra")),
            TextOp::Add(doc(4, "common words")),
            TextOp::Add(doc(5, "common things")),
        ])
        .unwrap();
    index.commit(1).unwrap();
    assert_eq!(ids(&index.search("rust", 10).unwrap()), [1, 2]);
    // "zebra" (1 doc) outweighs "common" (3 docs): doc 3 has both, but also among
    // single-term matches the rarer term wins.
    let hits = index.search("zebra common", 10).unwrap();
    assert_eq!(hits[0].0, 3);
    let zebra = index.search("zebra", 1).unwrap()[0].1;
    let common = index.search("common", 1).unwrap()[0].1;
    assert!(zebra > common, "idf: zebra {zebra} vs common {common}");
}

#[test]
fn repeated_query_words_weigh_more() {
    let index = body_index(Analyzer::Plain);
    index
        .apply([
            TextOp::Add(doc(1, "apple pie")),
            TextOp::Add(doc(2, "banana pie")),
        ])
        .unwrap();
    index.commit(1).unwrap();
    let once = index.search("apple banana", 2).unwrap();
    assert!((once[0].1 - once[1].1).abs() < 1e-6, "symmetric: {once:?}");
    let twice = index.search("apple apple banana", 2).unwrap();
    assert_eq!(twice[0].0, 1);
    let apple = index.search("apple", 1).unwrap()[0].1;
    assert!(
        (twice[0].1 - 2.0 * apple).abs() < 1e-4,
        "{twice:?} vs 2 x {apple}"
    );
}

#[test]
fn english_stems_plain_does_not() {
    for (analyzer, expect) in [
        (Analyzer::English, vec![1, 2, 3]),
        (Analyzer::Plain, vec![2]),
    ] {
        let index = body_index(analyzer);
        index
            .apply([
                TextOp::Add(doc(1, "She runs every morning")),
                TextOp::Add(doc(2, "Running is healthy")),
                TextOp::Add(doc(3, "I run")),
                TextOp::Add(doc(4, "Swimming pools")),
            ])
            .unwrap();
        index.commit(1).unwrap();
        let mut got = ids(&index.search("RUNNING", 10).unwrap());
        got.sort();
        assert_eq!(got, expect, "{analyzer:?}");
    }
    // Stop words are kept: a query made only of them still finds the exact phrase's doc.
    let index = body_index(Analyzer::English);
    index.add(doc(1, "The Who")).unwrap();
    index.add(doc(2, "Pinball wizard")).unwrap();
    index.commit(1).unwrap();
    assert_eq!(ids(&index.search("the who", 10).unwrap()), [1]);
}

#[test]
fn staged_writes_are_invisible_until_commit() {
    let index = body_index(Analyzer::English);
    index.add(doc(1, "hello world")).unwrap();
    assert_eq!(index.pending_ops(), 1);
    assert!(index.search("hello", 10).unwrap().is_empty());
    assert_eq!(index.len(), 0);
    assert!(!index.contains(1).unwrap());
    index.commit(7).unwrap();
    // Read-your-writes: visible as soon as commit returns, no sleep, no polling.
    assert_eq!(ids(&index.search("hello", 10).unwrap()), [1]);
    assert_eq!(index.len(), 1);
    assert_eq!(index.pending_ops(), 0);
    assert!(index.contains(1).unwrap());
}

#[test]
fn read_your_writes_on_disk_every_commit() {
    let dir = tempfile::tempdir().unwrap();
    let index = TextIndex::builder()
        .writer_threads(1)
        .create(
            dir.path(),
            TextSchema::single("body", Analyzer::Plain).unwrap(),
        )
        .unwrap();
    for i in 0..5u64 {
        index.add(doc(i, &format!("token{i} shared"))).unwrap();
        index.commit(i).unwrap();
        assert_eq!(ids(&index.search(&format!("token{i}"), 10).unwrap()), [i]);
        assert_eq!(index.search("shared", 100).unwrap().len() as u64, i + 1);
        assert_eq!(index.len(), i + 1);
    }
}

#[test]
fn deletes_are_never_returned() {
    let index = body_index(Analyzer::English);
    index
        .apply((0..50u64).map(|i| TextOp::Add(doc(i, &format!("common word{i}")))))
        .unwrap();
    index.commit(1).unwrap();
    for i in (0..50u64).step_by(3) {
        assert!(index.delete(i).unwrap(), "{i} was live");
    }
    // Staged deletes: still visible until the commit.
    assert_eq!(index.search("common", 100).unwrap().len(), 50);
    index.commit(2).unwrap();
    let hits = index.search("common", 100).unwrap();
    assert_eq!(hits.len(), 50 - 17);
    assert!(hits.iter().all(|h| h.0 % 3 != 0));
    assert!(index.search("word3", 10).unwrap().is_empty());
    assert_eq!(index.len(), 33);
    assert!(!index.delete(3).unwrap(), "already gone");
    assert!(!index.delete(999).unwrap(), "never existed");
    // Deleted and re-added: back, once.
    index.add(doc(3, "common word3 again")).unwrap();
    index.commit(3).unwrap();
    assert_eq!(ids(&index.search("word3", 10).unwrap()), [3]);
    assert!(index.get(3).unwrap().is_some());
}

#[test]
fn upsert_replaces_and_add_refuses_duplicates() {
    let index = TextIndex::in_memory(
        TextSchema::builder()
            .field(TextField::new("title").stored(true))
            .field(TextField::new("body"))
            .build()
            .unwrap(),
    )
    .unwrap();
    index
        .add(
            TextDocument::new(1)
                .with("title", "old")
                .with("body", "alpha"),
        )
        .unwrap();
    // Duplicate against a staged add, then against a committed one.
    assert!(matches!(
        index.add(TextDocument::new(1).with("body", "x")),
        Err(Error::DuplicateId { id: 1 })
    ));
    index.commit(1).unwrap();
    assert!(matches!(
        index.add(TextDocument::new(1).with("body", "x")),
        Err(Error::DuplicateId { id: 1 })
    ));
    index
        .upsert(
            TextDocument::new(1)
                .with("title", "new")
                .with("body", "beta"),
        )
        .unwrap();
    index
        .upsert(TextDocument::new(2).with("body", "beta"))
        .unwrap(); // upsert of a new id
    index.commit(2).unwrap();
    assert!(index.search("alpha", 10).unwrap().is_empty());
    let mut got = ids(&index.search("beta", 10).unwrap());
    got.sort();
    assert_eq!(got, [1, 2]);
    assert_eq!(index.len(), 2);
    let stored = index.get(1).unwrap().unwrap();
    assert_eq!(stored.get("title"), Some("new"));
    assert_eq!(stored.get("body"), None, "body is not stored");
    // Upserting the same id many times within one commit leaves exactly one copy.
    for round in 0..5 {
        index
            .upsert(TextDocument::new(1).with("body", format!("gamma round{round}")))
            .unwrap();
    }
    index.commit(3).unwrap();
    assert_eq!(ids(&index.search("gamma", 10).unwrap()), [1]);
    assert_eq!(ids(&index.search("round4", 10).unwrap()), [1]);
    assert!(index.search("round3", 10).unwrap().is_empty());
}

#[test]
fn a_failing_batch_stages_nothing() {
    let index = body_index(Analyzer::Plain);
    index.add(doc(1, "one")).unwrap();
    index.commit(1).unwrap();
    // Duplicate within the batch itself.
    let err = index
        .apply([TextOp::Add(doc(5, "five")), TextOp::Add(doc(5, "again"))])
        .unwrap_err();
    assert!(matches!(err, Error::DuplicateId { id: 5 }));
    // Unknown field in the last op.
    let err = index
        .apply([
            TextOp::Add(doc(6, "six")),
            TextOp::Add(TextDocument::new(7).with("nope", "x")),
        ])
        .unwrap_err();
    assert!(
        matches!(err, Error::UnknownField { ref name, .. } if name == "nope"),
        "{err}"
    );
    assert_eq!(index.pending_ops(), 0);
    // Delete then add of the same id inside one batch is fine.
    index
        .apply([TextOp::Delete(1), TextOp::Add(doc(1, "uno"))])
        .unwrap();
    index.commit(2).unwrap();
    assert_eq!(index.len(), 1);
    assert!(index.search("five six", 10).unwrap().is_empty());
    assert_eq!(ids(&index.search("uno", 10).unwrap()), [1]);
    assert!(index.search("one", 10).unwrap().is_empty());
}

#[test]
fn rollback_discards_staged_writes() {
    let index = body_index(Analyzer::Plain);
    index.add(doc(1, "kept")).unwrap();
    index.commit(1).unwrap();
    index.add(doc(2, "dropped")).unwrap();
    index.delete(1).unwrap();
    index.rollback().unwrap();
    assert_eq!(index.pending_ops(), 0);
    index.commit(2).unwrap();
    assert_eq!(ids(&index.search("kept dropped", 10).unwrap()), [1]);
    // The id freed by the rolled-back add can be added again.
    index.add(doc(2, "second try")).unwrap();
    index.commit(3).unwrap();
    assert_eq!(index.len(), 2);
}

#[test]
fn seq_is_recorded_and_must_not_go_backwards() {
    let index = body_index(Analyzer::Plain);
    assert_eq!(index.last_applied_seq(), None);
    index.commit(10).unwrap();
    assert_eq!(index.last_applied_seq(), Some(10));
    index.commit(10).unwrap(); // same seq: allowed (nothing new applied)
    assert!(matches!(
        index.commit(9),
        Err(Error::SeqRegression { last: 10, given: 9 })
    ));
    assert_eq!(index.last_applied_seq(), Some(10));
    // After clear (a rebuild), any seq is accepted.
    index.add(doc(1, "x")).unwrap();
    index.commit(11).unwrap();
    index.clear().unwrap();
    index.add(doc(2, "y")).unwrap();
    index.commit(3).unwrap();
    assert_eq!(index.last_applied_seq(), Some(3));
    assert_eq!(index.len(), 1);
    assert_eq!(ids(&index.search("x y", 10).unwrap()), [2]);
}

#[test]
fn clear_then_add_same_id() {
    let index = body_index(Analyzer::Plain);
    index.add(doc(1, "before")).unwrap();
    index.commit(1).unwrap();
    index.clear().unwrap();
    index.add(doc(1, "after")).unwrap(); // not a duplicate: the committed doc 1 is cleared
    index.commit(2).unwrap();
    assert_eq!(index.len(), 1);
    assert_eq!(ids(&index.search("after", 10).unwrap()), [1]);
    assert!(index.search("before", 10).unwrap().is_empty());
}

#[test]
fn payload_and_documents_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let schema = TextSchema::builder()
        .field(
            TextField::new("title")
                .stored(true)
                .analyzer(Analyzer::Plain),
        )
        .field(TextField::new("body"))
        .field(TextField::new("note").indexed(false).stored(true))
        .build()
        .unwrap();
    {
        let index = TextIndex::create(dir.path(), schema.clone()).unwrap();
        assert_eq!(index.path(), Some(dir.path()));
        index
            .add(
                TextDocument::new(u64::MAX)
                    .with("title", "Rust")
                    .with("body", "systems programming")
                    .with("note", "n1")
                    .with("note", "n2"),
            )
            .unwrap();
        index.commit(123_456).unwrap();
        // Staged but never committed: lost on close, by design.
        index
            .add(TextDocument::new(2).with("body", "uncommitted"))
            .unwrap();
    }
    let index = TextIndex::open(dir.path()).unwrap();
    assert_eq!(index.schema(), &schema);
    assert_eq!(index.last_applied_seq(), Some(123_456));
    assert_eq!(index.len(), 1);
    assert_eq!(ids(&index.search("programs", 10).unwrap()), [u64::MAX]);
    assert!(index.search("uncommitted", 10).unwrap().is_empty());
    let stored = index.get(u64::MAX).unwrap().unwrap();
    assert_eq!(
        stored.fields(),
        [
            ("title".to_string(), "Rust".to_string()),
            ("note".to_string(), "n1".to_string()),
            ("note".to_string(), "n2".to_string())
        ]
    );
    assert!(index.get(2).unwrap().is_none());
    // Writes continue after reopen, and the seq keeps its floor.
    assert!(matches!(index.commit(1), Err(Error::SeqRegression { .. })));
    index
        .add(TextDocument::new(3).with("body", "more programming"))
        .unwrap();
    index.commit(123_457).unwrap();
    drop(index);
    let index = TextIndex::open_or_create(dir.path(), schema).unwrap();
    assert_eq!(index.len(), 2);
    assert_eq!(index.last_applied_seq(), Some(123_457));
}

#[test]
fn a_fresh_index_reopens_with_no_seq() {
    let dir = tempfile::tempdir().unwrap();
    let schema = TextSchema::single("body", Analyzer::English).unwrap();
    drop(TextIndex::open_or_create(dir.path().join("new"), schema.clone()).unwrap());
    let index = TextIndex::open(dir.path().join("new")).unwrap();
    assert_eq!(index.last_applied_seq(), None);
    assert!(index.is_empty());
}

#[test]
fn field_restricted_search_and_unknown_fields() {
    let index = TextIndex::in_memory(
        TextSchema::builder()
            .field(TextField::new("title"))
            .field(TextField::new("body"))
            .field(TextField::new("raw").indexed(false).stored(true))
            .build()
            .unwrap(),
    )
    .unwrap();
    index
        .add(
            TextDocument::new(1)
                .with("title", "apple")
                .with("body", "banana"),
        )
        .unwrap();
    index
        .add(
            TextDocument::new(2)
                .with("title", "banana")
                .with("body", "apple"),
        )
        .unwrap();
    index.commit(1).unwrap();
    let by = |fields: &[&str]| {
        let mut v = ids(&index
            .search_request(&SearchRequest::new("apple", 10).fields(fields))
            .unwrap());
        v.sort();
        v
    };
    assert_eq!(by(&["title"]), [1]);
    assert_eq!(by(&["body"]), [2]);
    assert_eq!(by(&[]), [1, 2]);
    assert_eq!(by(&["title", "body", "title"]), [1, 2]);
    let err = index
        .search_request(&SearchRequest::new("apple", 10).fields(&["nope"]))
        .unwrap_err();
    assert!(matches!(err, Error::UnknownField { ref name, .. } if name == "nope"));
    let err = index
        .search_request(&SearchRequest::new("apple", 10).fields(&["raw"]))
        .unwrap_err();
    assert!(
        matches!(err, Error::UnknownField { .. }),
        "stored-only: {err}"
    );
    assert!(err.to_string().contains("not indexed"));
}

#[test]
fn degenerate_k_and_empty_index() {
    let index = body_index(Analyzer::English);
    assert!(index.search("anything", 10).unwrap().is_empty());
    index.add(doc(1, "word")).unwrap();
    index.commit(1).unwrap();
    assert!(index.search("word", 0).unwrap().is_empty());
    assert_eq!(index.search("word", usize::MAX).unwrap().len(), 1);
    assert!(index.search_filtered("word", 10, &[]).unwrap().is_empty());
    assert!(
        index
            .search_filtered("word", usize::MAX, &[1])
            .unwrap()
            .len()
            == 1
    );
}

#[test]
fn too_many_query_terms_is_a_typed_error() {
    let index = body_index(Analyzer::Plain);
    index.add(doc(1, "w1")).unwrap();
    index.commit(1).unwrap();
    let long: String = (0..2000).map(|i| format!("w{i} ")).collect();
    assert!(matches!(
        index.search(&long, 10),
        Err(Error::QueryTooLong {
            terms: 2000,
            max: 1024
        })
    ));
    // Many repetitions of few words are fine (they are counted, not multiplied).
    let repeated = "w1 ".repeat(100_000);
    assert_eq!(ids(&index.search(&repeated, 10).unwrap()), [1]);
}

#[test]
fn handles_are_cheap_clones_of_one_index() {
    let a = body_index(Analyzer::Plain);
    let b = a.clone();
    a.add(doc(1, "shared")).unwrap();
    b.commit(5).unwrap();
    assert_eq!(a.last_applied_seq(), Some(5));
    assert_eq!(ids(&a.search("shared", 1).unwrap()), [1]);
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<TextIndex>();
    let _ = format!("{a:?}");
}

#[test]
fn an_empty_commit_with_the_same_seq_is_free_but_a_new_seq_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let index = TextIndex::builder()
        .writer_threads(1)
        .create(
            dir.path(),
            TextSchema::single("body", Analyzer::Plain).unwrap(),
        )
        .unwrap();
    index.add(doc(1, "x")).unwrap();
    index.commit(4).unwrap();
    index.commit(4).unwrap();
    index.commit(5).unwrap(); // nothing staged, but the new seq is recorded durably
    drop(index);
    let index = TextIndex::open(dir.path()).unwrap();
    assert_eq!(index.last_applied_seq(), Some(5));
    assert_eq!(index.len(), 1);
}
