//! Namespaces and collections: CRUD, every kind of search checked against a reference,
//! tenant isolation, persistence and bad input.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};

use common::{Rng, cosine};
use serde_json::json;
use toondb::{Aggregation, CollectionConfig, Database, Document, Error, ErrorCode, Filter};

fn open() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    (dir, db)
}

const WORDS: [&str; 12] = [
    "apple", "river", "engine", "galaxy", "violin", "harbor", "pepper", "glacier", "lantern",
    "meadow", "quartz", "saddle",
];

const GROUPS: [&str; 3] = ["a", "b", "c"];

/// `n` documents with random 16-d vectors, metadata {n, group, tags} and text of two words.
fn corpus(n: usize, seed: u64) -> Vec<Document> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|i| {
            Document::new(format!("doc-{i}"), rng.vector(16))
                .metadata(json!({"n": i, "group": GROUPS[i % 3], "nested": {"even": i % 2 == 0}}))
                .content(format!(
                    "{} {} item{i}",
                    WORDS[i % 12],
                    WORDS[(i / 12) % 12]
                ))
        })
        .collect()
}

#[test]
fn vector_search_matches_brute_force_and_filters_hold() {
    let (_d, db) = open();
    let ns = db.create_namespace("t", "Tenant", BTreeMap::new()).unwrap();
    let coll = ns
        .create_collection(CollectionConfig::new("docs", 16))
        .unwrap();
    let docs = corpus(600, 42);
    coll.insert_batch(docs.clone()).unwrap();
    assert_eq!(coll.count(), 600);
    let mut rng = Rng(7);
    let mut hits_total = 0;
    for _ in 0..20 {
        let q = rng.vector(16);
        let mut exact: Vec<(f32, &str)> = docs
            .iter()
            .map(|d| (cosine(&q, &d.vectors["_default"]), d.id.as_str()))
            .collect();
        exact.sort_by(|a, b| b.0.total_cmp(&a.0));
        let truth: HashSet<&str> = exact.iter().take(10).map(|e| e.1).collect();
        let got = coll.search(&q, 10, None).unwrap();
        assert_eq!(got.len(), 10);
        assert!(got.windows(2).all(|w| w[0].score >= w[1].score));
        hits_total += got.iter().filter(|r| truth.contains(r.id.as_str())).count();
        // Filtered: every result satisfies the filter, and it is the exact top of the subset.
        let f = Filter::and([
            Filter::eq("group", "b"),
            Filter::range("n").gte(100).lt(400),
        ]);
        let got = coll.search(&q, 5, Some(&f)).unwrap();
        let subset: Vec<&str> = exact
            .iter()
            .filter(|(_, id)| {
                let i: usize = id[4..].parse().unwrap();
                i % 3 == 1 && (100..400).contains(&i)
            })
            .take(5)
            .map(|e| e.1)
            .collect();
        assert_eq!(
            got.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            subset
        );
        for r in &got {
            assert!(f.matches(&r.metadata));
            assert!(r.vector_rank.is_some());
            assert!(r.content.as_deref().unwrap().contains("item"));
        }
    }
    let recall = hits_total as f64 / 200.0;
    assert!(recall >= 0.9, "recall@10 {recall}");
}

#[test]
fn keyword_search_sees_own_writes_and_hybrid_fuses() {
    let (_d, db) = open();
    let ns = db.create_namespace("t", "T", BTreeMap::new()).unwrap();
    let coll = ns
        .create_collection(CollectionConfig::new("docs", 16).content_field("body"))
        .unwrap();
    coll.insert_batch(corpus(120, 3)).unwrap();
    // Read-your-writes: visible to keyword search as soon as insert returns.
    coll.insert(
        "fresh",
        vec![0.5; 16],
        json!({"body": "zeppelin over the glacier"}),
        None,
    )
    .unwrap();
    let hits = coll.keyword_search("zeppelin", 5, None).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].id, "fresh");
    assert_eq!(hits[0].text_rank, Some(1));
    // Punctuation is text, not syntax.
    assert!(
        coll.keyword_search("zeppelin: \"(glacier", 5, None)
            .unwrap()
            .len()
            > 1
    );
    // Hybrid: a document first on both sides is first whatever the fusion.
    let q = coll.get("doc-5").unwrap().unwrap().vectors["_default"].clone();
    for rrf in [true, false] {
        let hits = coll.hybrid_search(&q, "item5", 10, 0.5, rrf, None).unwrap();
        assert_eq!(hits[0].id, "doc-5", "rrf={rrf}");
        assert_eq!(hits[0].vector_rank, Some(1));
        assert_eq!(hits[0].text_rank, Some(1));
        if rrf {
            assert!((hits[0].score - 2.0 / 61.0).abs() < 1e-6);
        } else {
            assert!((hits[0].score - 1.0).abs() < 1e-6);
        }
    }
    // alpha = 1 is pure vector order, alpha = 0 pure keyword order.
    let v = coll.search(&q, 5, None).unwrap();
    let h = coll
        .hybrid_search(&q, "apple", 5, 1.0, false, None)
        .unwrap();
    assert_eq!(
        v.iter().map(|r| &r.id).collect::<Vec<_>>(),
        h.iter().map(|r| &r.id).collect::<Vec<_>>()
    );
    let k = coll.keyword_search("apple", 5, None).unwrap();
    let h = coll
        .hybrid_search(&q, "apple", 5, 0.0, false, None)
        .unwrap();
    let kscores: Vec<f32> = k.iter().map(|r| r.text_score.unwrap()).collect();
    let hscores: Vec<f32> = h.iter().map(|r| r.text_score.unwrap()).collect();
    assert_eq!(kscores, hscores);
    // Filters apply to both sides.
    let f = Filter::eq("group", "c");
    for r in coll
        .hybrid_search(&q, "apple river", 20, 0.5, true, Some(&f))
        .unwrap()
    {
        assert_eq!(r.metadata["group"], "c");
    }
    // Deletes and upserts are reflected everywhere.
    assert!(coll.delete("fresh").unwrap());
    assert!(!coll.delete("fresh").unwrap());
    assert!(coll.keyword_search("zeppelin", 5, None).unwrap().is_empty());
    coll.upsert(
        "doc-5",
        vec![-1.0; 16],
        json!({"group": "z"}),
        Some("submarine"),
    )
    .unwrap();
    assert!(
        coll.keyword_search("item5", 5, None)
            .unwrap()
            .iter()
            .all(|r| r.id != "doc-5")
    );
    assert_eq!(
        coll.keyword_search("submarine", 5, None).unwrap()[0].id,
        "doc-5"
    );
    assert_eq!(coll.search(&[-1.0; 16], 1, None).unwrap()[0].id, "doc-5");
    assert_eq!(coll.count(), 120);
}

#[test]
fn multi_vector_search_aggregates_like_the_reference() {
    let (_d, db) = open();
    let ns = db.create_namespace("t", "T", BTreeMap::new()).unwrap();
    let coll = ns
        .create_collection(CollectionConfig::new("mv", 8))
        .unwrap();
    let mut rng = Rng(99);
    let mut docs = Vec::new();
    for i in 0..80 {
        let mut vs = HashMap::new();
        vs.insert("title".to_string(), rng.vector(8));
        if i % 4 != 0 {
            vs.insert("body".to_string(), rng.vector(8));
        }
        coll.insert_multi_vector(&format!("m{i}"), vs.clone(), json!({"i": i}))
            .unwrap();
        docs.push((format!("m{i}"), vs));
    }
    let queries: HashMap<String, Vec<f32>> = HashMap::from([
        ("title".into(), rng.vector(8)),
        ("body".into(), rng.vector(8)),
    ]);
    let weights = HashMap::from([("title".to_string(), 0.7f32), ("body".to_string(), 0.3f32)]);
    for agg in [
        Aggregation::MaxPooling,
        Aggregation::MeanPooling,
        Aggregation::WeightedSum(weights.clone()),
    ] {
        let mut reference: Vec<(f32, String)> = docs
            .iter()
            .map(|(id, vs)| {
                let sims: Vec<(&str, f32)> = queries
                    .iter()
                    .filter_map(|(n, q)| vs.get(n).map(|v| (n.as_str(), cosine(q, v))))
                    .collect();
                let s = match &agg {
                    Aggregation::MaxPooling => sims.iter().map(|s| s.1).fold(f32::MIN, f32::max),
                    Aggregation::MeanPooling => {
                        sims.iter().map(|s| s.1).sum::<f32>() / sims.len() as f32
                    }
                    Aggregation::WeightedSum(w) => sims.iter().map(|(n, s)| w[*n] * s).sum(),
                    _ => unreachable!(),
                };
                (s, id.clone())
            })
            .collect();
        reference.sort_by(|a, b| b.0.total_cmp(&a.0));
        let got = coll.multi_vector_search(&queries, 5, &agg).unwrap();
        let want: Vec<&String> = reference.iter().take(5).map(|r| &r.1).collect();
        assert_eq!(
            got.iter().map(|r| &r.id).collect::<Vec<_>>(),
            want,
            "{agg:?}"
        );
        for (g, r) in got.iter().zip(&reference) {
            assert!((g.score - r.0).abs() < 1e-4);
        }
    }
    let err = coll
        .multi_vector_search(
            &queries,
            5,
            &Aggregation::WeightedSum(HashMap::from([("title".into(), 1.0)])),
        )
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
    let err = coll
        .multi_vector_search(
            &HashMap::from([("nope".into(), vec![1.0; 8])]),
            5,
            &Aggregation::MaxPooling,
        )
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
}

#[test]
fn tenants_cannot_see_each_other() {
    let (_d, db) = open();
    let a = db
        .create_namespace(
            "alpha",
            "Alpha",
            BTreeMap::from([("tier".into(), "gold".into())]),
        )
        .unwrap();
    let b = db
        .create_namespace("beta", "Beta", BTreeMap::new())
        .unwrap();
    let ca = a
        .create_collection(CollectionConfig::new("docs", 4))
        .unwrap();
    let cb = b
        .create_collection(CollectionConfig::new("docs", 4))
        .unwrap();
    ca.insert(
        "same-id",
        vec![1.0, 0.0, 0.0, 0.0],
        json!({"owner": "alpha"}),
        Some("alpha secret"),
    )
    .unwrap();
    cb.insert(
        "same-id",
        vec![0.0, 1.0, 0.0, 0.0],
        json!({"owner": "beta"}),
        Some("beta secret"),
    )
    .unwrap();
    cb.insert(
        "only-beta",
        vec![1.0, 0.0, 0.0, 0.0],
        json!({"owner": "beta"}),
        Some("beta only"),
    )
    .unwrap();
    assert_eq!(
        ca.get("same-id").unwrap().unwrap().metadata["owner"],
        "alpha"
    );
    assert!(ca.get("only-beta").unwrap().is_none());
    for r in ca.search(&[1.0, 0.0, 0.0, 0.0], 10, None).unwrap() {
        assert_eq!(r.metadata["owner"], "alpha");
    }
    for r in ca.keyword_search("beta secret only", 10, None).unwrap() {
        assert_eq!(r.metadata["owner"], "alpha");
    }
    assert_eq!(ca.count(), 1);
    assert_eq!(cb.count(), 2);
    // Listing and deletion stay within a namespace.
    let names: Vec<_> = db
        .list_namespaces()
        .unwrap()
        .into_iter()
        .map(|n| n.name)
        .collect();
    assert_eq!(names, ["alpha", "beta"]);
    assert_eq!(a.info().labels["tier"], "gold");
    db.delete_namespace("alpha").unwrap();
    assert_eq!(
        db.namespace("alpha").unwrap_err().code(),
        ErrorCode::NamespaceNotFound
    );
    assert_eq!(
        ca.search(&[1.0, 0.0, 0.0, 0.0], 1, None)
            .unwrap_err()
            .code(),
        ErrorCode::CollectionNotFound
    );
    assert_eq!(
        cb.search(&[1.0, 0.0, 0.0, 0.0], 1, None).unwrap()[0].id,
        "only-beta"
    );
    // Re-creating the namespace starts empty.
    let a2 = db
        .create_namespace("alpha", "Alpha again", BTreeMap::new())
        .unwrap();
    assert!(a2.list_collections().unwrap().is_empty());
    let ca2 = a2
        .create_collection(CollectionConfig::new("docs", 4))
        .unwrap();
    assert_eq!(ca2.count(), 0);
    assert!(ca2.get("same-id").unwrap().is_none());
}

#[test]
fn collections_survive_reopen_with_and_without_saved_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let docs = corpus(200, 5);
    {
        let db = Database::open(dir.path()).unwrap();
        let ns = db.create_namespace("t", "T", BTreeMap::new()).unwrap();
        let c = ns
            .create_collection(CollectionConfig::new("docs", 16))
            .unwrap();
        c.insert_batch(docs[..150].to_vec()).unwrap();
        db.checkpoint().unwrap(); // indexes saved at this point …
        c.insert_batch(docs[150..].to_vec()).unwrap(); // … and these must be caught up
        c.delete("doc-3").unwrap();
    } // close saves again; simulate a crash instead by deleting nothing here
    let check = |db: &Database| {
        let c = db.namespace("t").unwrap().get_collection("docs").unwrap();
        assert_eq!(c.count(), 199);
        for i in [0usize, 149, 150, 199] {
            let d = &docs[i];
            assert_eq!(
                c.search(&d.vectors["_default"], 1, None).unwrap()[0].id,
                d.id
            );
            let hits = c.keyword_search(&format!("item{i}"), 1, None).unwrap();
            assert_eq!(hits[0].id, d.id);
        }
        assert!(c.get("doc-3").unwrap().is_none());
        assert!(
            c.keyword_search("item3", 5, None)
                .unwrap()
                .iter()
                .all(|r| r.id != "doc-3")
        );
    };
    check(&Database::open(dir.path()).unwrap());
    // Lose the index files entirely: they are rebuilt from storage.
    std::fs::remove_dir_all(dir.path().join("indexes")).unwrap();
    check(&Database::open(dir.path()).unwrap());
    // Damage them: rebuilt too.
    let idx = dir.path().join("indexes/t/docs");
    for e in std::fs::read_dir(&idx).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "hnsw") {
            std::fs::write(&p, b"garbage").unwrap();
        }
    }
    check(&Database::open(dir.path()).unwrap());
}

#[test]
fn configs_are_immutable_and_listed() {
    let (_d, db) = open();
    let ns = db.create_namespace("t", "T", BTreeMap::new()).unwrap();
    let cfg = CollectionConfig::new("docs", 4);
    ns.create_collection(cfg.clone()).unwrap();
    ns.create_collection(cfg.clone()).unwrap(); // same config: fine
    let err = ns
        .create_collection(CollectionConfig::new("docs", 8))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::CollectionConfigMismatch);
    ns.create_collection(CollectionConfig::new("other", 2).hybrid(false))
        .unwrap();
    let names: Vec<_> = ns
        .list_collections()
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["docs", "other"]);
    assert!(ns.drop_collection("docs").unwrap());
    assert!(!ns.drop_collection("docs").unwrap());
    assert_eq!(
        ns.get_collection("docs").unwrap_err().code(),
        ErrorCode::CollectionNotFound
    );
    let other = ns.get_collection("other").unwrap();
    other
        .insert("x", vec![1.0, 2.0], json!({}), Some("text"))
        .unwrap();
    assert_eq!(
        other.keyword_search("text", 1, None).unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
}

#[test]
fn bad_input_gets_typed_errors() {
    let (_d, db) = open();
    assert_eq!(
        db.namespace("missing").unwrap_err().code(),
        ErrorCode::NamespaceNotFound
    );
    assert_eq!(
        db.create_namespace("bad name", "", BTreeMap::new())
            .unwrap_err()
            .code(),
        ErrorCode::InvalidName
    );
    let ns = db.create_namespace("t", "T", BTreeMap::new()).unwrap();
    assert_eq!(
        db.create_namespace("t", "again", BTreeMap::new())
            .unwrap_err()
            .code(),
        ErrorCode::NamespaceExists
    );
    for bad in [
        CollectionConfig::new("_x", 4),
        CollectionConfig::new("x", 0),
    ] {
        assert!(ns.create_collection(bad).is_err());
    }
    let params = toondb::vector::HnswParams {
        m: 10_000,
        ..Default::default()
    };
    assert_eq!(
        ns.create_collection(CollectionConfig::new("x", 4).hnsw(params))
            .unwrap_err()
            .code(),
        ErrorCode::InvalidArgument
    );
    let c = ns.create_collection(CollectionConfig::new("c", 3)).unwrap();
    let code = |r: Result<(), Error>| r.unwrap_err().code();
    assert_eq!(
        code(c.insert("a", vec![1.0, 2.0], json!({}), None)),
        ErrorCode::DimensionMismatch
    );
    assert_eq!(
        code(c.insert("a", vec![1.0, f32::NAN, 0.0], json!({}), None)),
        ErrorCode::InvalidDocument
    );
    assert_eq!(
        code(c.insert("a", vec![f32::INFINITY, 0.0, 0.0], json!({}), None)),
        ErrorCode::InvalidDocument
    );
    assert_eq!(
        code(c.insert("a", vec![0.0; 3], json!({}), None)),
        ErrorCode::InvalidDocument
    );
    assert_eq!(
        code(c.insert("", vec![1.0; 3], json!({}), None)),
        ErrorCode::InvalidDocument
    );
    assert_eq!(
        code(c.insert("a", vec![1.0; 3], json!([1, 2]), None)),
        ErrorCode::InvalidDocument
    );
    assert_eq!(
        code(c.insert_batch(vec![
            Document::new("d", vec![1.0; 3]),
            Document::new("d", vec![2.0; 3])
        ])),
        ErrorCode::DuplicateDocument
    );
    assert_eq!(c.count(), 0, "a failed batch writes nothing");
    c.insert("a", vec![1.0; 3], json!({"x": 1}), Some("hello"))
        .unwrap();
    assert_eq!(
        code(c.insert("a", vec![1.0; 3], json!({}), None)),
        ErrorCode::DuplicateDocument
    );
    assert_eq!(
        code(c.insert_batch(vec![
            Document::new("b", vec![1.0; 3]),
            Document::new("a", vec![2.0; 3])
        ])),
        ErrorCode::DuplicateDocument
    );
    assert_eq!(c.count(), 1);
    let e = c
        .search(&[1.0; 3], 5, Some(&Filter::eq("y", 1)))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::UnknownFilterField);
    assert!(e.to_string().contains("\"y\""));
    assert_eq!(
        c.search(&[1.0; 2], 5, None).unwrap_err().code(),
        ErrorCode::DimensionMismatch
    );
    assert_eq!(
        c.search(&[1.0; 3], 0, None).unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        c.search(&[f32::NAN; 3], 1, None).unwrap_err().code(),
        ErrorCode::InvalidDocument
    );
    assert_eq!(
        c.keyword_search("   ", 5, None).unwrap_err().code(),
        ErrorCode::EmptyQuery
    );
    assert_eq!(
        c.hybrid_search(&[1.0; 3], "hello", 5, 1.5, false, None)
            .unwrap_err()
            .code(),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        c.hybrid_search(&[1.0; 3], "", 5, 0.5, true, None)
            .unwrap_err()
            .code(),
        ErrorCode::EmptyQuery
    );
    // Searching an empty collection is not an error.
    let empty = ns
        .create_collection(CollectionConfig::new("empty", 3))
        .unwrap();
    assert!(empty.search(&[1.0; 3], 3, None).unwrap().is_empty());
    assert!(empty.keyword_search("x", 3, None).unwrap().is_empty());
}

#[test]
fn an_interrupted_namespace_deletion_is_finished_at_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        let ns = db.create_namespace("gone", "G", BTreeMap::new()).unwrap();
        let c = ns.create_collection(CollectionConfig::new("c", 2)).unwrap();
        c.insert("x", vec![1.0, 0.0], json!({}), None).unwrap();
        // Simulate a crash right after the "deleting" mark was committed.
        let reg = db.storage().keyspace("toondb.namespaces").unwrap();
        let rec = db.storage().get_in(&reg, b"gone").unwrap().unwrap();
        let mut rec: serde_json::Value = serde_json::from_slice(&rec).unwrap();
        rec["deleting"] = json!(true);
        db.storage()
            .put_in(&reg, b"gone", rec.to_string().as_bytes())
            .unwrap();
    }
    let db = Database::open(dir.path()).unwrap();
    assert!(db.list_namespaces().unwrap().is_empty());
    let ks = db.storage().keyspace("ns.gone").unwrap();
    let txn = db.storage().begin_transaction().unwrap();
    assert_eq!(
        txn.scan_prefix(&ks, b"").unwrap().count(),
        0,
        "every key removed"
    );
    assert!(!dir.path().join("indexes/gone").exists());
}
