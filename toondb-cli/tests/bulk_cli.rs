//! `toondb-bulk` end to end, through the real binary: build-index, info, query, convert, and
//! the errors a shell user sees.

use std::path::Path;
use std::process::{Command, Output};

fn bulk(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_toondb-bulk"))
        .args(args)
        .output()
        .expect("run toondb-bulk")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn write_npy(path: &Path, rows: &[f32], dim: usize) {
    toondb::vector::write_npy_f32(path, rows, dim).unwrap();
}

/// 1200 rows of dimension 8 on a few well separated lines, deterministic.
fn data() -> (Vec<f32>, usize) {
    let dim = 8;
    let mut rows = Vec::new();
    for i in 0..1200u32 {
        let c = (i % 6) as f32;
        for j in 0..dim {
            let wobble = ((i * 31 + j as u32 * 17) % 997) as f32 / 997.0;
            rows.push(
                if j % 6 == (i % 6) as usize {
                    10.0 + c
                } else {
                    0.0
                } + wobble,
            );
        }
    }
    (rows, dim)
}

#[test]
fn build_info_query_convert_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    let (rows, dim) = data();
    write_npy(Path::new(&p("x.npy")), &rows, dim);

    let out = bulk(&[
        "build-index",
        "--input",
        &p("x.npy"),
        "--output",
        &p("x.hnsw"),
        "--dimension",
        "8",
        "--metric",
        "euclidean",
        "--m",
        "12",
        "--ef-construction",
        "80",
        "--threads",
        "2",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("1200 vectors"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        out.stderr.is_empty(),
        "no progress bar when not a terminal: {}",
        text(&out.stderr)
    );

    let out = bulk(&["info", "--index", &p("x.hnsw"), "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["count"], 1200);
    assert_eq!(info["dimension"], 8);
    assert_eq!(info["metric"], "euclidean");
    assert_eq!(info["m"], 12);
    let out = bulk(&["info", "--index", &p("x.hnsw")]);
    assert!(text(&out.stdout).contains("vectors:         1200"));

    // Query with rows 3 and 700 of the data: each is its own nearest neighbour.
    let queries: Vec<f32> = [&rows[3 * dim..4 * dim], &rows[700 * dim..701 * dim]].concat();
    write_npy(Path::new(&p("q.npy")), &queries, dim);
    let out = bulk(&[
        "query",
        "--index",
        &p("x.hnsw"),
        "--query",
        &p("q.npy"),
        "--k",
        "5",
        "--ef-search",
        "64",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let res: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(res.as_array().unwrap().len(), 2);
    assert_eq!(res[0]["results"].as_array().unwrap().len(), 5);
    assert_eq!(res[0]["results"][0]["id"], 3);
    assert_eq!(res[0]["results"][0]["distance"], 0.0);
    assert_eq!(res[1]["results"][0]["id"], 700);

    // Convert the queries to raw float32 and query with that: same answers, as a table.
    let out = bulk(&[
        "convert",
        "--input",
        &p("q.npy"),
        "--output",
        &p("q.f32"),
        "--to-format",
        "raw-f32",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::metadata(p("q.f32")).unwrap().len(),
        (2 * dim * 4) as u64
    );
    let out = bulk(&[
        "query",
        "--index",
        &p("x.hnsw"),
        "--query",
        &p("q.f32"),
        "--k",
        "1",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[0].contains("distance"));
    assert_eq!(
        lines[1].split_whitespace().take(3).collect::<Vec<_>>(),
        vec!["0", "1", "3"]
    );
    assert_eq!(
        lines[2].split_whitespace().take(3).collect::<Vec<_>>(),
        vec!["1", "1", "700"]
    );
    // And back to .npy: identical values.
    let out = bulk(&[
        "convert",
        "--input",
        &p("q.f32"),
        "--output",
        &p("q2.npy"),
        "--to-format",
        "npy",
        "--dimension",
        "8",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (back, d) = toondb::vector::read_npy_f32(p("q2.npy")).unwrap();
    assert_eq!((back, d), (queries, dim));
}

#[test]
fn errors_have_messages_and_exit_codes_a_shell_user_can_act_on() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    // Missing input file: 66.
    let out = bulk(&[
        "build-index",
        "--input",
        &p("none.npy"),
        "--output",
        &p("o.hnsw"),
    ]);
    assert_eq!(out.status.code(), Some(66));
    assert!(
        text(&out.stderr).contains("none.npy"),
        "{}",
        text(&out.stderr)
    );
    // Wrong dimension: 65, and the message names both sizes.
    let (rows, dim) = data();
    write_npy(Path::new(&p("x.npy")), &rows[..100 * dim], dim);
    let out = bulk(&[
        "build-index",
        "--input",
        &p("x.npy"),
        "--output",
        &p("o.hnsw"),
        "--dimension",
        "384",
    ]);
    assert_eq!(out.status.code(), Some(65));
    assert!(
        text(&out.stderr).contains("384") && text(&out.stderr).contains('8'),
        "{}",
        text(&out.stderr)
    );
    assert!(!Path::new(&p("o.hnsw")).exists());
    // Bad parameter: 65.
    let out = bulk(&[
        "build-index",
        "--input",
        &p("x.npy"),
        "--output",
        &p("o.hnsw"),
        "--m",
        "300",
    ]);
    assert_eq!(out.status.code(), Some(65));
    assert!(
        text(&out.stderr).contains("m = 300"),
        "{}",
        text(&out.stderr)
    );
    // Not an index: 65.
    let out = bulk(&["info", "--index", &p("x.npy")]);
    assert_eq!(out.status.code(), Some(65));
    assert!(
        text(&out.stderr).contains("not a ToonDB .hnsw index file"),
        "{}",
        text(&out.stderr)
    );
    // Query of the wrong length: 65.
    let out = bulk(&[
        "build-index",
        "--input",
        &p("x.npy"),
        "--output",
        &p("x.hnsw"),
        "--metric",
        "euclidean",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::write(p("bad.f32"), [0u8; 12]).unwrap();
    let out = bulk(&["query", "--index", &p("x.hnsw"), "--query", &p("bad.f32")]);
    assert_eq!(out.status.code(), Some(65));
    assert!(
        text(&out.stderr).contains("dimension 8"),
        "{}",
        text(&out.stderr)
    );
    // k = 0: 65.
    write_npy(Path::new(&p("q.npy")), &rows[..dim], dim);
    let out = bulk(&[
        "query",
        "--index",
        &p("x.hnsw"),
        "--query",
        &p("q.npy"),
        "--k",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(65));
    // Raw input without --dimension: 1, with the fix in the message.
    let out = bulk(&[
        "convert",
        "--input",
        &p("bad.f32"),
        "--output",
        &p("o.npy"),
        "--to-format",
        "npy",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--dimension"),
        "{}",
        text(&out.stderr)
    );
    // Usage errors: 2.
    assert_eq!(bulk(&["build-index"]).status.code(), Some(2));
    assert_eq!(bulk(&["frobnicate"]).status.code(), Some(2));
}
