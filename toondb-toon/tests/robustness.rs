//! No input panics the decoder: property tests over arbitrary strings and
//! over TOON-shaped noise (headers, quotes, escapes, delimiters, indentation),
//! in strict and non-strict mode. A panic fails the property; every error
//! must be a syntax error with a position inside the input.

use proptest::prelude::*;
use toondb_toon::{DecodeOptions, Error};

/// Fragments that steer random input into the decoder's deeper paths.
const PIECES: &[&str] = &[
    "\n",
    "\n",
    "\n",
    "  ",
    "  ",
    " ",
    "\t",
    "\r\n",
    "- ",
    "-",
    ":",
    ": ",
    ",",
    "|",
    "\t",
    "[",
    "]",
    "{",
    "}",
    "[2]",
    "[3|]",
    "[2:]",
    "[0]",
    "[1\t]",
    "{a,b}",
    "{a{b,c}}",
    "\"",
    "\\",
    "\\u00e9",
    "\\ud800",
    "\\n",
    "#",
    "key",
    "a",
    "b",
    "x.y",
    "1",
    "-0",
    "1e5",
    "0.5",
    "01",
    "true",
    "null",
    "é",
    "\u{FEFF}",
    "[]",
    "\"q:,|\"",
    "users[2]{id,name}:",
    "  - ",
    "items[2]:",
    "k[1]: ",
];

fn toonish() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..60).prop_map(|v| v.concat())
}

fn options() -> impl Strategy<Value = DecodeOptions> {
    (any::<bool>(), 1usize..5)
        .prop_map(|(strict, indent)| DecodeOptions::new().strict(strict).indent(indent))
}

fn check(text: &str, opts: &DecodeOptions) -> Result<(), TestCaseError> {
    match toondb_toon::decode_value(text, opts) {
        Ok(value) => {
            // Whatever decodes re-encodes.
            let toon = toondb_toon::encode_value(&value, &toondb_toon::EncodeOptions::new());
            prop_assert!(
                toon.is_ok(),
                "{text:?} decoded to {value} that does not encode"
            );
        }
        Err(Error::Syntax { line, column, .. }) => {
            let lines = text.split('\n').count();
            prop_assert!(
                line >= 1 && line <= lines,
                "line {line} of {lines} for {text:?}"
            );
            prop_assert!(column >= 1, "column {column} for {text:?}");
        }
        Err(other) => prop_assert!(false, "non-syntax error {other:?} for {text:?}"),
    }
    Ok(())
}

proptest! {
    // TOON_ROBUSTNESS_CASES raises the case count for a longer hunt.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("TOON_ROBUSTNESS_CASES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(4000),
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_strings_never_panic(text in any::<String>(), opts in options()) {
        check(&text, &opts)?;
    }

    #[test]
    fn toon_shaped_noise_never_panics(text in toonish(), opts in options()) {
        check(&text, &opts)?;
    }

    #[test]
    fn typed_decode_never_panics(text in toonish()) {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Row { id: u64, name: String }
        let _ = toondb_toon::decode::<Vec<Row>>(&text, &DecodeOptions::new());
        let _ = toondb_toon::decode::<std::collections::BTreeMap<String, Vec<f64>>>(
            &text, &DecodeOptions::new().strict(false));
    }
}
