//! Our encoders (in memory and streaming) write exactly the bytes of the
//! official `toon-format` encoder, and encode → decode returns the value, for
//! random JSON values shaped like query results (tables, objects of tables,
//! keyed-table look-alikes) and like arbitrary documents.

use proptest::prelude::*;
use serde_json::{Map, Number, Value};
use toondb_toon::{DecodeOptions, Delimiter, EncodeOptions};

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,6}",
        "[ ,|\\t:;\"\\\\#\\[\\]{}a-z0-9.é-]{0,8}",
        prop::sample::select(vec![
            "", "true", "null", "1", "-1", "05", "1e3", "- x", "a b"
        ])
        .prop_map(str::to_string),
    ]
}

fn primitive() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        text().prop_map(Value::String),
    ]
}

fn document() -> impl Strategy<Value = Value> {
    primitive().prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn table() -> impl Strategy<Value = Value> {
    (prop::collection::btree_set("[a-z]{1,4}", 1..4), 1usize..6).prop_flat_map(|(fields, n)| {
        let fields: Vec<String> = fields.into_iter().collect();
        prop::collection::vec(prop::collection::vec(primitive(), fields.len()), n).prop_map(
            move |rows| {
                Value::Array(
                    rows.into_iter()
                        .map(|cells| {
                            Value::Object(fields.iter().cloned().zip(cells).collect::<Map<_, _>>())
                        })
                        .collect(),
                )
            },
        )
    })
}

fn result_shaped() -> impl Strategy<Value = Value> {
    prop_oneof![
        table(),
        prop::collection::vec(("[a-z]{1,5}", prop_oneof![table(), document()]), 0..4)
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        document(),
    ]
}

fn options() -> impl Strategy<Value = EncodeOptions> {
    (
        1usize..5,
        prop::sample::select(vec![Delimiter::Comma, Delimiter::Tab, Delimiter::Pipe]),
    )
        .prop_map(|(i, d)| EncodeOptions::new().indent(i).delimiter(d))
}

/// Numbers compare by value (TOON writes `3.0` as `3`, `-0` as `0`).
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn streaming_equals_in_memory(value in result_shaped(), opts in options()) {
        // The official encoder is the reference for both of our paths.
        let official = toon_format::EncodeOptions::new()
            .with_spaces(opts.indent_size())
            .with_delimiter(match opts.get_delimiter() {
                Delimiter::Comma => toon_format::Delimiter::Comma,
                Delimiter::Tab => toon_format::Delimiter::Tab,
                _ => toon_format::Delimiter::Pipe,
            });
        let reference = toon_format::encode(&value, &official).unwrap();
        let whole = toondb_toon::encode_value(&value, &opts).unwrap();
        prop_assert_eq!(&whole, &reference);
        let mut out = Vec::new();
        toondb_toon::encode_value_to_writer(&mut out, &value, &opts).unwrap();
        prop_assert_eq!(String::from_utf8(out).unwrap(), reference);
    }

    #[test]
    fn encode_decode_round_trip(value in result_shaped(), opts in options()) {
        let toon = toondb_toon::encode_value(&value, &opts).unwrap();
        let back = toondb_toon::decode_value(&toon, &DecodeOptions::new().indent(opts.indent_size()))
            .map_err(|e| TestCaseError::fail(format!("{e}\n{toon}")))?;
        // An empty root object encodes as the empty document, which decodes
        // to an empty object: same value.
        prop_assert!(same(&back, &value), "{} -> {:?} -> {}", value, toon, back);
    }
}
