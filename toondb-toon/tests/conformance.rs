//! Runs every case of the official TOON conformance fixtures (specification
//! tag v4.1.1 and the 4.0 snapshot beside it) through `toondb_toon` with the
//! options each case declares, and prints per-file pass counts.

use std::path::{Path, PathBuf};

use serde_json::Value;
use toondb_toon::{DecodeOptions, Delimiter, EncodeOptions};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/toon");

#[derive(Debug, Default)]
struct Outcome {
    passed: usize,
    failures: Vec<String>,
}

fn fixture_files(set: &Path, kind: &str) -> Vec<PathBuf> {
    let dir = set.join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn decode_options(options: &Value) -> DecodeOptions {
    let mut opts = DecodeOptions::new();
    if let Some(strict) = options.get("strict").and_then(Value::as_bool) {
        opts = opts.strict(strict);
    }
    if let Some(indent) = options.get("indentSize").and_then(Value::as_u64) {
        opts = opts.indent(indent as usize);
    }
    opts
}

fn encode_options(options: &Value) -> EncodeOptions {
    let mut opts = EncodeOptions::new();
    if let Some(indent) = options.get("indentSize").and_then(Value::as_u64) {
        opts = opts.indent(indent as usize);
    }
    if let Some(d) = options.get("delimiter").and_then(Value::as_str) {
        let delimiter = d
            .chars()
            .next()
            .and_then(Delimiter::from_char)
            .unwrap_or_else(|| panic!("fixture delimiter {d:?}"));
        opts = opts.delimiter(delimiter);
    }
    opts
}

fn known_options(options: &Value) {
    if let Some(map) = options.as_object() {
        for key in map.keys() {
            assert!(
                matches!(key.as_str(), "strict" | "indentSize" | "delimiter"),
                "fixture uses an option this runner does not know: {key}"
            );
        }
    }
}

fn run_case(kind: &str, case: &Value) -> Result<(), String> {
    let name = case["name"].as_str().unwrap_or("?");
    let options = case.get("options").cloned().unwrap_or(Value::Null);
    known_options(&options);
    let should_error = case
        .get("shouldError")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if kind == "decode" {
        let input = case["input"]
            .as_str()
            .ok_or("decode input is not a string")?;
        let result = toondb_toon::decode_value(input, &decode_options(&options));
        match (should_error, result) {
            (true, Ok(v)) => Err(format!("{name}: should fail, decoded {v}")),
            (true, Err(toondb_toon::Error::Syntax { line, column, .. })) => {
                // The error points inside the input.
                let lines: Vec<&str> = input.split('\n').collect();
                let width = lines
                    .get(line.wrapping_sub(1))
                    .map(|l| l.chars().count() + 1);
                match width {
                    Some(w) if column >= 1 && column <= w => Ok(()),
                    _ => Err(format!(
                        "{name}: error position {line}:{column} outside {input:?}"
                    )),
                }
            }
            (true, Err(e)) => Err(format!("{name}: not a syntax error: {e}")),
            (false, Err(e)) => Err(format!("{name}: {e}\n  input: {input:?}")),
            (false, Ok(v)) => {
                // Compare serializations so key order counts too.
                let got = serde_json::to_string(&v).map_err(|e| e.to_string())?;
                let want = serde_json::to_string(&case["expected"]).map_err(|e| e.to_string())?;
                if got == want {
                    Ok(())
                } else {
                    Err(format!(
                        "{name}:\n  input: {input:?}\n  want {want}\n  got  {got}"
                    ))
                }
            }
        }
    } else {
        let result = toondb_toon::encode_value(&case["input"], &encode_options(&options));
        match (should_error, result) {
            (true, Ok(t)) => Err(format!("{name}: should fail, encoded {t:?}")),
            (true, Err(_)) => Ok(()),
            (false, Err(e)) => Err(format!("{name}: {e}")),
            (false, Ok(t)) => {
                let want = case["expected"]
                    .as_str()
                    .ok_or("encode expected is not a string")?;
                if t == want {
                    Ok(())
                } else {
                    Err(format!(
                        "{name}:\n  input: {}\n  want {want:?}\n  got  {t:?}",
                        case["input"]
                    ))
                }
            }
        }
    }
}

fn run_set(set_name: &str) -> Option<(usize, Vec<String>)> {
    let set = Path::new(DATA).join(set_name);
    if !set.is_dir() {
        if std::env::var_os("CI").is_some() {
            panic!("TOON fixtures missing at {} (CI is set)", set.display());
        }
        eprintln!("SKIP: TOON fixtures not found at {}", set.display());
        return None;
    }
    let mut total = 0;
    let mut failures = Vec::new();
    for kind in ["encode", "decode"] {
        for file in fixture_files(&set, kind) {
            let text = std::fs::read_to_string(&file).expect("read fixture");
            let doc: Value = serde_json::from_str(&text).expect("fixture is JSON");
            let cases = doc["tests"].as_array().expect("tests array");
            let mut outcome = Outcome::default();
            for case in cases {
                match run_case(kind, case) {
                    Ok(()) => outcome.passed += 1,
                    Err(e) => outcome.failures.push(e),
                }
            }
            let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("?");
            println!(
                "{set_name} {kind}/{stem}: {}/{} passed",
                outcome.passed,
                cases.len()
            );
            total += cases.len();
            for f in outcome.failures {
                failures.push(format!("[{set_name} {kind}/{stem}] {f}"));
            }
        }
    }
    println!("{set_name}: {}/{total} passed", total - failures.len());
    Some((total, failures))
}

fn check(set_name: &str, expected_total: usize) {
    let Some((total, failures)) = run_set(set_name) else {
        return;
    };
    assert_eq!(total, expected_total, "case count of {set_name}");
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn fixtures_4_1_1() {
    check("fixtures-4.1.1", 538);
}

#[test]
fn fixtures_4_0_snapshot() {
    check("fixtures", 516);
}
