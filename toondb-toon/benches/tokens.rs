//! Token benchmark: how many tokens the same data costs as compact JSON,
//! pretty JSON, TOON (comma and tab delimiters) and the compact one-line table
//! form, counted with real tokenizers (tiktoken's o200k_base and
//! cl100k_base, vocabularies shipped inside `tiktoken-rs`).
//!
//! Run: `cargo bench -p toondb-toon --bench tokens`
//!
//! Datasets: the original product's two documented examples, 1,000 records
//! of the wiki-ir corpus (`../shared/data/wiki-ir/corpus.jsonl`), a
//! deterministic SQL-like result of 1,000 rows, and a nested document
//! (departments holding employees with nested addresses and skill lists).
//! Two more sections time encoding (side by side with serde_json and with
//! the official `toon-format` encoder underneath) and decoding (against
//! serde_json).

use std::time::Instant;

use serde_json::{Map, Value, json};
use tiktoken_rs::CoreBPE;
use toondb_toon::{Delimiter, EncodeOptions};

const WIKI: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/wiki-ir/corpus.jsonl"
);

struct Dataset {
    name: String,
    value: Value,
    /// (table name, records, fields) when the data is one list of records.
    table: Option<(String, Vec<Value>, Vec<String>)>,
}

impl Dataset {
    fn records(name: &str, table: &str, records: Vec<Value>) -> Self {
        let fields = match records.first() {
            Some(Value::Object(first)) => first.keys().cloned().collect(),
            _ => Vec::new(),
        };
        let mut root = Map::new();
        root.insert(table.to_string(), Value::Array(records.clone()));
        Dataset {
            name: name.to_string(),
            value: Value::Object(root),
            table: Some((table.to_string(), records, fields)),
        }
    }
}

/// A small deterministic generator (64-bit LCG), so every run sees the
/// same data.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() as usize) % items.len()]
    }
}

const FIRST: &[&str] = &[
    "Alice", "Bob", "Carla", "Dmitri", "Esther", "Farid", "Grace", "Hiro", "Ines", "Jamal",
    "Kirsten", "Luis", "Mei", "Noah", "Olga", "Priya",
];
const LAST: &[&str] = &[
    "Smith",
    "Garcia",
    "Okafor",
    "Nguyen",
    "Müller",
    "Rossi",
    "Kowalski",
    "Tanaka",
    "Silva",
    "Haddad",
    "Johansson",
    "Patel",
];

fn sql_result(rows: usize) -> Vec<Value> {
    let mut rng = Lcg(42);
    let statuses = ["paid", "pending", "refunded", "shipped", "cancelled"];
    let countries = ["US", "DE", "FR", "JP", "BR", "IN", "GB", "CA"];
    (0..rows)
        .map(|i| {
            let first = rng.pick(FIRST);
            let last = rng.pick(LAST);
            let cents = rng.next() % 100_000;
            json!({
                "order_id": 100_000 + i,
                "customer": format!("{first} {last}"),
                "email": format!("{}.{}@example.com", first.to_lowercase(), last.to_lowercase()),
                "country": rng.pick(&countries),
                "amount": (cents as f64) / 100.0,
                "quantity": 1 + rng.next() % 9,
                "status": rng.pick(&statuses),
                "created_at": format!("2025-{:02}-{:02}T{:02}:{:02}:00Z",
                    1 + rng.next() % 12, 1 + rng.next() % 28, rng.next() % 24, rng.next() % 60),
            })
        })
        .collect()
}

fn nested_document() -> Value {
    let mut rng = Lcg(7);
    let skills = [
        "rust", "sql", "python", "go", "k8s", "ml", "design", "sales", "support",
    ];
    let cities = [
        ("Berlin", "10115"),
        ("Lyon", "69001"),
        ("Osaka", "530-0001"),
        ("Austin", "73301"),
    ];
    let departments: Vec<Value> = (0..20)
        .map(|d| {
            let employees: Vec<Value> = (0..10)
                .map(|e| {
                    let (city, zip) = cities[(rng.next() as usize) % cities.len()];
                    let n = 1 + (rng.next() % 3) as usize;
                    let mine: Vec<&str> = (0..n).map(|_| rng.pick(&skills)).collect();
                    json!({
                        "id": d * 100 + e,
                        "name": format!("{} {}", rng.pick(FIRST), rng.pick(LAST)),
                        "title": rng.pick(&["Engineer", "Analyst", "Manager", "Designer"]),
                        "address": {"city": city, "zip": zip},
                        "skills": mine,
                        "remote": rng.next().is_multiple_of(2),
                    })
                })
                .collect();
            json!({
                "name": format!("Department {d}"),
                "budget": 100_000 + rng.next() % 900_000,
                "head": {"name": format!("{} {}", rng.pick(FIRST), rng.pick(LAST)), "since": 2010 + rng.next() % 15},
                "employees": employees,
            })
        })
        .collect();
    json!({
        "company": "Example Corp",
        "founded": 1998,
        "headquarters": {"city": "Berlin", "country": "DE"},
        "departments": departments,
    })
}

fn datasets() -> Vec<Dataset> {
    let mut sets = vec![
        // The two examples the original product documents.
        Dataset::records(
            "original: users (2 rows)",
            "users",
            vec![
                json!({"name": "Alice", "email": "alice@example.com"}),
                json!({"name": "Bob", "email": "bob@example.com"}),
            ],
        ),
        Dataset::records(
            "original: products (1 row)",
            "result",
            vec![json!({"name": "Laptop", "price": 999})],
        ),
    ];
    match std::fs::read_to_string(WIKI) {
        Ok(text) => {
            let records: Vec<Value> = text
                .lines()
                .take(1000)
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
            sets.push(Dataset::records(
                "wiki-ir corpus (1,000 records)",
                "documents",
                records,
            ));
        }
        Err(e) => eprintln!("SKIP wiki-ir dataset: cannot read {WIKI}: {e}"),
    }
    sets.push(Dataset::records(
        "SQL-like result (1,000 rows)",
        "orders",
        sql_result(1000),
    ));
    sets.push(Dataset {
        name: "nested document (20 depts x 10 employees)".to_string(),
        value: nested_document(),
        table: None,
    });
    sets
}

fn count(bpe: &CoreBPE, text: &str) -> usize {
    bpe.encode_with_special_tokens(text).len()
}

fn pct(baseline: usize, form: usize) -> f64 {
    100.0 * (baseline as f64 - form as f64) / baseline as f64
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sets = datasets();
    let o200k = tiktoken_rs::o200k_base()?;
    let cl100k = tiktoken_rs::cl100k_base()?;

    println!("# Tokens per representation (fewer is better)");
    println!();
    for (tok_name, bpe) in [("o200k_base", &o200k), ("cl100k_base", &cl100k)] {
        println!("## {tok_name}");
        println!();
        println!(
            "| dataset | JSON compact | JSON pretty | TOON | TOON (tab) | compact form | TOON vs compact JSON | TOON vs pretty JSON | compact form vs compact JSON | compact form vs pretty JSON |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for set in &sets {
            let compact_json = serde_json::to_string(&set.value)?;
            let pretty_json = serde_json::to_string_pretty(&set.value)?;
            let toon = toondb_toon::encode_value(&set.value, &EncodeOptions::new())?;
            let toon_tab = toondb_toon::encode_value(
                &set.value,
                &EncodeOptions::new().delimiter(Delimiter::Tab),
            )?;
            let compact_form = match &set.table {
                Some((name, records, fields)) => Some(toondb_toon::to_toon(name, records, fields)?),
                None => None,
            };
            let jc = count(bpe, &compact_json);
            let jp = count(bpe, &pretty_json);
            let t = count(bpe, &toon);
            let tt = count(bpe, &toon_tab);
            let cf = compact_form.as_deref().map(|c| count(bpe, c));
            let (cf_s, cf_c, cf_p) = match cf {
                Some(c) => (
                    c.to_string(),
                    format!("{:.1}%", pct(jc, c)),
                    format!("{:.1}%", pct(jp, c)),
                ),
                None => ("n/a".into(), "n/a".into(), "n/a".into()),
            };
            println!(
                "| {} | {jc} | {jp} | {t} | {tt} | {cf_s} | {:.1}% | {:.1}% | {cf_c} | {cf_p} |",
                set.name,
                pct(jc, t),
                pct(jp, t)
            );
        }
        println!();
    }

    // Side by side: encoding speed of TOON against serde_json on the same
    // value (the peer every caller would otherwise use).
    println!("# Encoding time, TOON vs serde_json (same value, best of 5)");
    println!();
    println!(
        "| dataset | serde_json compact | toon-format 0.7.0 encode | toondb_toon::encode_value | toondb_toon streamed | toondb_toon / serde_json | toondb_toon / toon-format |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for set in &sets {
        let reps = if set.value.to_string().len() < 10_000 {
            2000
        } else {
            5
        };
        let best = |f: &dyn Fn() -> usize| {
            (0..5)
                .map(|_| {
                    let start = Instant::now();
                    let mut sink = 0usize;
                    for _ in 0..reps {
                        sink = sink.wrapping_add(f());
                    }
                    std::hint::black_box(sink);
                    start.elapsed().as_secs_f64() / reps as f64
                })
                .fold(f64::INFINITY, f64::min)
        };
        let opts = EncodeOptions::new();
        let json_t = best(&|| serde_json::to_string(&set.value).map_or(0, |s| s.len()));
        let official = toon_format::EncodeOptions::default();
        let official_t =
            best(&|| toon_format::encode(&set.value, &official).map_or(0, |s| s.len()));
        let toon_t = best(&|| toondb_toon::encode_value(&set.value, &opts).map_or(0, |s| s.len()));
        let stream_t = best(&|| {
            let mut out = std::io::sink();
            toondb_toon::encode_value_to_writer(&mut out, &set.value, &opts).map_or(0, |()| 1)
        });
        println!(
            "| {} | {:.1} µs | {:.1} µs | {:.1} µs | {:.1} µs | {:.1}x | {:.2}x |",
            set.name,
            json_t * 1e6,
            official_t * 1e6,
            toon_t * 1e6,
            stream_t * 1e6,
            toon_t / json_t,
            toon_t / official_t
        );
    }

    println!();
    println!("# Decoding time, TOON vs serde_json (same value, best of 5)");
    println!();
    println!("| dataset | serde_json::from_str | toondb_toon::decode_value | TOON / JSON |");
    println!("|---|---:|---:|---:|");
    for set in &sets {
        let json = serde_json::to_string(&set.value)?;
        let toon = toondb_toon::encode_value(&set.value, &EncodeOptions::new())?;
        // Both decode to the same value.
        let back = toondb_toon::decode_value(&toon, &Default::default())?;
        assert!(!serde_json::to_string(&back)?.is_empty());
        let reps = if json.len() < 10_000 { 2000 } else { 5 };
        let best = |f: &dyn Fn() -> bool| {
            (0..5)
                .map(|_| {
                    let start = Instant::now();
                    for _ in 0..reps {
                        std::hint::black_box(f());
                    }
                    start.elapsed().as_secs_f64() / reps as f64
                })
                .fold(f64::INFINITY, f64::min)
        };
        let json_t = best(&|| serde_json::from_str::<Value>(&json).is_ok());
        let toon_t = best(&|| toondb_toon::decode_value(&toon, &Default::default()).is_ok());
        println!(
            "| {} | {:.1} µs | {:.1} µs | {:.1}x |",
            set.name,
            json_t * 1e6,
            toon_t * 1e6,
            toon_t / json_t
        );
    }
    Ok(())
}
