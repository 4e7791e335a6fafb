//! Multi-tenant RAG: two tenants, each with a collection of real text, a hybrid query
//! per tenant, and proof that one tenant cannot see the other's documents.
//!
//! Run with `cargo run --example rag_multi_tenant`.
//!
//! Embeddings here come from a small feature-hashing embedder (words hashed into 256
//! dimensions) so the example runs anywhere without a model; in an application they come
//! from a sentence-embedding model, and nothing else changes.

use std::collections::BTreeMap;

use serde_json::json;
use toondb::{CollectionConfig, Database, Document, Filter};

const DIM: usize = 256;

/// Hashes lower-cased words (and word bigrams) into a normalized vector.
fn embed(text: &str) -> Vec<f32> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 2)
        .map(str::to_lowercase)
        .collect();
    let mut v = vec![0f32; DIM];
    let mut add = |s: &str, w: f32| {
        let h = s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        });
        v[(h % DIM as u64) as usize] += if h & 1 == 0 { w } else { -w };
    };
    for w in &words {
        add(w, 1.0);
    }
    for pair in words.windows(2) {
        add(&format!("{} {}", pair[0], pair[1]), 0.5);
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
    v.iter().map(|x| x / norm).collect()
}

fn main() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let db = Database::open(tmp.path().join("rag-db"))?;

    // Tenant 1: a hospital's clinical guidelines.
    let clinic = db.create_namespace(
        "st-marys",
        "St Mary's Hospital",
        BTreeMap::from([("plan".into(), "enterprise".into())]),
    )?;
    let guidelines = clinic.create_collection(CollectionConfig::new("guidelines", DIM))?;
    let clinic_docs = [
        (
            "g1",
            "triage",
            "Patients presenting with chest pain should receive an electrocardiogram within ten minutes of arrival.",
        ),
        (
            "g2",
            "pharmacy",
            "Anticoagulant doses must be checked against renal function before the first administration.",
        ),
        (
            "g3",
            "triage",
            "Children with fever and a non-blanching rash are treated as suspected meningococcal disease.",
        ),
        (
            "g4",
            "infection",
            "Hand hygiene is required before and after every patient contact, including glove use.",
        ),
        (
            "g5",
            "pharmacy",
            "Insulin infusions are reviewed hourly; glucose is measured at the bedside.",
        ),
    ];
    guidelines.insert_batch(
        clinic_docs
            .iter()
            .map(|(id, dept, text)| {
                Document::new(*id, embed(text))
                    .metadata(json!({"department": dept}))
                    .content(*text)
            })
            .collect(),
    )?;

    // Tenant 2: a software company's support articles, in a collection of the same name.
    let vendor = db.create_namespace("devtools-inc", "DevTools Inc", BTreeMap::new())?;
    let articles = vendor.create_collection(CollectionConfig::new("guidelines", DIM))?;
    let vendor_docs = [
        (
            "g1",
            "billing",
            "Invoices are issued on the first day of each month and can be downloaded from the dashboard.",
        ),
        (
            "g2",
            "api",
            "API keys are rotated every ninety days; old keys keep working for twenty four hours.",
        ),
        (
            "g3",
            "api",
            "Rate limits are applied per key: one thousand requests per minute on the standard plan.",
        ),
        (
            "g4",
            "security",
            "Two factor authentication is required for every administrator account.",
        ),
    ];
    articles.insert_batch(
        vendor_docs
            .iter()
            .map(|(id, area, text)| {
                Document::new(*id, embed(text))
                    .metadata(json!({"area": area}))
                    .content(*text)
            })
            .collect(),
    )?;

    // A hybrid query per tenant: dense similarity and BM25 fused by Reciprocal Rank Fusion.
    let question = "what should happen when a patient arrives with chest pain";
    println!("[{}] {question}", clinic.info().display_name);
    for hit in guidelines.hybrid_search(&embed(question), question, 2, 0.5, true, None)? {
        println!(
            "  {:.4} {} (vector rank {:?}, keyword rank {:?}) {}",
            hit.score,
            hit.id,
            hit.vector_rank,
            hit.text_rank,
            hit.content.unwrap_or_default()
        );
    }
    let question = "how often are api keys rotated";
    println!("[{}] {question}", vendor.info().display_name);
    let filter = Filter::eq("area", "api");
    for hit in articles.hybrid_search(&embed(question), question, 2, 0.5, true, Some(&filter))? {
        println!(
            "  {:.4} {} {}",
            hit.score,
            hit.id,
            hit.content.unwrap_or_default()
        );
    }

    // Isolation: the same ids and collection names, but each tenant sees only its own.
    let leaked = articles.keyword_search("patient chest pain anticoagulant insulin", 10, None)?;
    assert!(leaked.is_empty(), "a tenant saw another tenant's documents");
    let own = guidelines.get("g1")?.expect("own document");
    let other = articles.get("g1")?.expect("own document");
    assert_ne!(own.content, other.content);
    println!(
        "isolation: devtools-inc's keyword search for clinical terms found {} documents; \
         both tenants have a document g1, each sees only its own",
        leaked.len()
    );

    db.delete_namespace("devtools-inc")?;
    assert_eq!(guidelines.count(), clinic_docs.len());
    println!(
        "deleted devtools-inc; st-marys still has {} documents; namespaces now: {:?}",
        guidelines.count(),
        db.list_namespaces()?
            .into_iter()
            .map(|n| n.name)
            .collect::<Vec<_>>()
    );
    Ok(())
}
