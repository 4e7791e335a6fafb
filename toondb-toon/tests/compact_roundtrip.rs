//! The compact table form is lossless: property tests over names, field
//! names and records with every kind of JSON value, including strings full of
//! delimiters, quotes, escapes and literal look-alikes.

use proptest::prelude::*;
use serde_json::{Map, Number, Value};

fn tricky_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[,;:\"\\\\ \\n\\t\\r{}\\[\\]#a-c0-9.é-]{0,10}",
        prop::sample::select(vec![
            "",
            "true",
            "false",
            "null",
            "1",
            "-1",
            "01",
            "1e5",
            "0.5",
            "-",
            "#x",
            " x",
            "x ",
            "a,b",
            "a;b",
            "k:v",
            "[1]",
            "{}",
            "\"",
            "\\",
            "Alice",
            "alice@example.com",
        ])
        .prop_map(str::to_string),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        tricky_string().prop_map(Value::String),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((tricky_string(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Equality where numbers compare by value: JSON (and TOON) do not tell
/// `3.0` from `3`. Integers compare exactly, anything else as `f64`.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i128(), y.as_i128()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| ka == kb && same(va, vb))
        }
        _ => a == b,
    }
}

#[derive(Debug, Clone)]
struct Table {
    name: String,
    fields: Vec<String>,
    records: Vec<Map<String, Value>>,
}

fn table() -> impl Strategy<Value = Table> {
    (
        tricky_string(),
        prop::collection::btree_set(tricky_string(), 1..5),
    )
        .prop_flat_map(|(name, fields)| {
            let fields: Vec<String> = fields.into_iter().collect();
            let row = prop::collection::vec(prop::option::weighted(0.85, value()), fields.len());
            let f2 = fields.clone();
            prop::collection::vec(row, 0..8).prop_map(move |rows| Table {
                name: name.clone(),
                fields: f2.clone(),
                records: rows
                    .into_iter()
                    .map(|cells| {
                        f2.iter()
                            .zip(cells)
                            .filter_map(|(f, c)| c.map(|c| (f.clone(), c)))
                            .collect()
                    })
                    .collect(),
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn round_trip_is_lossless(t in table()) {
        let line = toondb_toon::to_toon(&t.name, &t.records, &t.fields).unwrap();
        prop_assert!(!line.contains(['\n', '\r']), "not one line: {line:?}");
        let (name, fields, records) = toondb_toon::from_toon(&line)
            .map_err(|e| TestCaseError::fail(format!("{e} in {line:?}")))?;
        prop_assert_eq!(&name, &t.name);
        prop_assert_eq!(&fields, &t.fields);
        prop_assert_eq!(records.len(), t.records.len());
        for (got, want) in records.iter().zip(&t.records) {
            let (got_v, want_v) = (Value::Object(got.clone()), Value::Object(want.clone()));
            prop_assert!(same(&got_v, &want_v), "got {got_v} want {want_v} line {line:?}");
            // Field order of each record follows the header.
            let keys: Vec<&String> = got.keys().collect();
            let order: Vec<&String> = t.fields.iter().filter(|f| got.contains_key(*f)).collect();
            prop_assert_eq!(keys, order);
        }
        // Streaming writes the same bytes.
        let mut out = Vec::new();
        toondb_toon::write_toon(&mut out, &t.name, &t.records, &t.fields).unwrap();
        prop_assert_eq!(String::from_utf8(out).unwrap(), line);
    }

    #[test]
    fn from_toon_never_panics(text in "[a-z\\[\\]{}0-9,;:\"\\\\ \\n.é-]{0,40}") {
        let _ = toondb_toon::from_toon(&text);
    }

    #[test]
    fn from_toon_never_panics_on_anything(text in any::<String>()) {
        let _ = toondb_toon::from_toon(&text);
    }
}
