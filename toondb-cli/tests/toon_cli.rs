//! End-to-end tests of `toondb toon encode|decode` through the real binary:
//! files and standard input, options, token statistics, errors on standard
//! error with a non-zero exit, and the official conformance fixtures run
//! through the command line.

use std::path::Path;

mod common;
use common::{stderr, stdout, toondb};

use serde_json::{Value, json};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/toon/fixtures-4.1.1"
);

#[test]
fn encode_and_decode_through_files_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let data = json!({
        "users": [{"id": 1, "name": "Alice"}, {"id": 2, "name": "Bob, Jr."}],
        "tags": ["a", "b"],
        "meta": {"ok": true, "note": null}
    });
    let json_path = dir.path().join("in.json");
    std::fs::write(&json_path, data.to_string()).unwrap();

    let out = toondb(&["toon", "encode", json_path.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let toon = stdout(&out);
    assert_eq!(
        toon,
        "users[2]{id,name}:\n  1,Alice\n  2,\"Bob, Jr.\"\ntags[2]: a,b\nmeta:\n  ok: true\n  note: null\n"
    );
    assert!(out.stderr.is_empty());

    // Standard input, and `-`, give the same.
    let piped = toondb(&["toon", "encode"], Some(&data.to_string()));
    assert_eq!(stdout(&piped), toon);
    let dash = toondb(&["toon", "encode", "-"], Some(&data.to_string()));
    assert_eq!(stdout(&dash), toon);

    let toon_path = dir.path().join("in.toon");
    std::fs::write(&toon_path, &toon).unwrap();
    let back = toondb(&["toon", "decode", toon_path.to_str().unwrap()], None);
    assert!(back.status.success(), "{}", stderr(&back));
    let value: Value = serde_json::from_str(&stdout(&back)).unwrap();
    assert_eq!(value, data);
    assert!(stdout(&back).contains("\n  "), "pretty JSON by default");

    let compact = toondb(&["toon", "decode", "--compact"], Some(&toon));
    assert_eq!(stdout(&compact), format!("{data}\n"));
}

#[test]
fn delimiter_and_indent_options() {
    let data = r#"{"t":[{"a":1,"b":"x|y"}],"o":{"k":[1,2]}}"#;
    let pipe = toondb(
        &["toon", "encode", "--delimiter", "pipe", "--indent", "4"],
        Some(data),
    );
    assert!(pipe.status.success(), "{}", stderr(&pipe));
    assert_eq!(
        stdout(&pipe),
        "t[1|]{a|b}:\n    1|\"x|y\"\no:\n    k[2|]: 1|2\n"
    );
    let tab = toondb(&["toon", "encode", "--delimiter", "tab"], Some(data));
    assert_eq!(
        stdout(&tab),
        "t[1\t]{a\tb}:\n  1\tx|y\no:\n  k[2\t]: 1\t2\n"
    );

    // Decoding needs the indent the document uses.
    let four = stdout(&pipe);
    let ok = toondb(
        &["toon", "decode", "--indent", "4", "--compact"],
        Some(&four),
    );
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert_eq!(
        serde_json::from_str::<Value>(&stdout(&ok)).unwrap(),
        serde_json::from_str::<Value>(data).unwrap()
    );
    let wrong = toondb(&["toon", "decode"], Some("o:\n   k: 1\n"));
    assert!(!wrong.status.success());

    let bad = toondb(&["toon", "encode", "--delimiter", "semicolon"], Some(data));
    assert_eq!(bad.status.code(), Some(2), "usage errors exit 2");
    assert!(stderr(&bad).contains("semicolon"));
    let zero = toondb(&["toon", "encode", "--indent", "0"], Some(data));
    assert_eq!(zero.status.code(), Some(2));
}

#[test]
fn strict_and_lenient_decoding() {
    let lenient_only = "items[3]: a,b\nfoo[1][bar]: 10\n";
    let strict = toondb(&["toon", "decode"], Some(lenient_only));
    assert_eq!(strict.status.code(), Some(1));
    assert!(stdout(&strict).is_empty());
    let err = stderr(&strict);
    assert!(err.starts_with("toondb: <stdin>:1:1: "), "{err}");
    assert!(err.contains("expected 3 inline-form values"), "{err}");

    let explicit = toondb(&["toon", "decode", "--strict"], Some(lenient_only));
    assert_eq!(explicit.status.code(), Some(1));

    let lenient = toondb(
        &["toon", "decode", "--strict=false", "--compact"],
        Some(lenient_only),
    );
    assert!(lenient.status.success(), "{}", stderr(&lenient));
    assert_eq!(
        stdout(&lenient),
        "{\"items\":[\"a\",\"b\"],\"foo[1][bar]\":10}\n"
    );

    // Encode --strict checks its own output decodes back.
    let ok = toondb(
        &["toon", "encode", "--strict"],
        Some(r#"{"a":[1.0,"-",""]}"#),
    );
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert_eq!(stdout(&ok), "a[3]: 1,\"-\",\"\"\n");
}

#[test]
fn errors_go_to_stderr_with_a_position_and_nonzero_exit() {
    let toon = toondb(
        &["toon", "decode"],
        Some("name: Ada\nbio: \"unterminated\n"),
    );
    assert_eq!(toon.status.code(), Some(1));
    assert!(toon.stdout.is_empty());
    let err = stderr(&toon);
    assert!(err.contains("<stdin>:2:6:"), "{err}");
    assert!(err.contains("expected a closing '\"'"), "{err}");

    let json = toondb(&["toon", "encode"], Some("{\"a\": [1, 2,]}"));
    assert_eq!(json.status.code(), Some(1));
    assert!(
        stderr(&json).contains("<stdin>:1:13: invalid JSON"),
        "{}",
        stderr(&json)
    );

    let missing = toondb(&["toon", "decode", "/nonexistent/x.toon"], None);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("cannot read /nonexistent/x.toon"));

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toon");
    std::fs::write(&bad, "a:\n\tb: 1\n").unwrap();
    let tabs = toondb(&["toon", "decode", bad.to_str().unwrap()], None);
    assert_eq!(tabs.status.code(), Some(1));
    let err = stderr(&tabs);
    assert!(err.contains(&format!("{}:2:1:", bad.display())), "{err}");
    assert!(err.contains("spaces for indentation"), "{err}");

    let no_sub = toondb(&["toon"], None);
    assert_eq!(no_sub.status.code(), Some(2));
}

#[test]
fn stats_count_tokens_on_stderr_only() {
    let rows: Vec<Value> = (0..50)
        .map(|i| json!({"id": i, "name": format!("user{i}"), "active": i % 2 == 0}))
        .collect();
    let data = json!({ "users": rows }).to_string();
    let out = toondb(&["toon", "encode", "--stats"], Some(&data));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("users[50]{id,name,active}:\n"));
    assert!(!stdout(&out).contains("tokens"));
    let err = stderr(&out);
    for needle in [
        "tokens (o200k_base)",
        "tokens (cl100k_base)",
        "JSON compact",
        "JSON pretty",
    ] {
        assert!(err.contains(needle), "{needle} missing from {err}");
    }
    // TOON saves tokens on a uniform table: the reported reduction against
    // compact JSON is positive.
    let line = err
        .lines()
        .find(|l| l.starts_with("tokens (o200k_base): JSON compact"))
        .unwrap();
    let pct: f64 = line
        .rsplit('(')
        .next()
        .and_then(|s| s.split('%').next())
        .and_then(|s| s.parse().ok())
        .unwrap();
    assert!(pct > 20.0, "{line}");

    let toon = stdout(&out);
    let back = toondb(&["toon", "decode", "--stats"], Some(&toon));
    assert!(back.status.success());
    assert!(stderr(&back).contains("TOON input"));
}

#[test]
fn large_table_round_trips_through_pipes() {
    let rows: Vec<Value> = (0..20_000)
        .map(
            |i| json!({"id": i, "title": format!("Item {i}, \"quoted\""), "score": i as f64 / 7.0 + 0.5}),
        )
        .collect();
    let data = Value::Array(rows);
    let enc = toondb(&["toon", "encode"], Some(&data.to_string()));
    assert!(enc.status.success(), "{}", stderr(&enc));
    let toon = stdout(&enc);
    assert!(toon.starts_with("[20000]{id,title,score}:\n"));
    let dec = toondb(&["toon", "decode", "--compact"], Some(&toon));
    assert!(dec.status.success(), "{}", stderr(&dec));
    let back: Value = serde_json::from_str(&stdout(&dec)).unwrap();
    assert!(back == data, "20,000-row table changed in the round trip");
}

/// Every encode and decode case of the 4.1.1 fixtures, through the binary.
#[test]
fn conformance_fixtures_through_the_binary() {
    let set = Path::new(FIXTURES);
    if !set.is_dir() {
        assert!(
            std::env::var_os("CI").is_none(),
            "fixtures missing at {FIXTURES}"
        );
        eprintln!("SKIP: TOON fixtures not found at {FIXTURES}");
        return;
    }
    let mut cases = 0;
    for kind in ["encode", "decode"] {
        let mut files: Vec<_> = std::fs::read_dir(set.join(kind))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            let doc: Value =
                serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
            for case in doc["tests"].as_array().unwrap() {
                cases += 1;
                let name = case["name"].as_str().unwrap();
                let opts = &case["options"];
                let mut args = vec!["toon".to_string(), kind.to_string()];
                if let Some(i) = opts.get("indentSize").and_then(Value::as_u64) {
                    args.push(format!("--indent={i}"));
                }
                if let Some(s) = opts.get("strict").and_then(Value::as_bool) {
                    args.push(format!("--strict={s}"));
                }
                if let Some(d) = opts.get("delimiter").and_then(Value::as_str) {
                    let d = match d {
                        "," => "comma",
                        "|" => "pipe",
                        _ => "tab",
                    };
                    args.push(format!("--delimiter={d}"));
                }
                if kind == "decode" {
                    args.push("--compact".to_string());
                }
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let input = match kind {
                    "encode" => case["input"].to_string(),
                    _ => case["input"].as_str().unwrap().to_string(),
                };
                let out = toondb(&args, Some(&input));
                let should_error = case.get("shouldError").and_then(Value::as_bool) == Some(true);
                if should_error {
                    assert_eq!(out.status.code(), Some(1), "{name}: should fail");
                    assert!(!out.stderr.is_empty(), "{name}: no message");
                    continue;
                }
                assert!(out.status.success(), "{name}: {}", stderr(&out));
                let got = stdout(&out);
                let got = got.strip_suffix('\n').unwrap();
                if kind == "encode" {
                    assert_eq!(got, case["expected"].as_str().unwrap(), "{name}");
                } else {
                    assert_eq!(got, case["expected"].to_string(), "{name}");
                }
            }
        }
    }
    assert_eq!(cases, 538);
}
