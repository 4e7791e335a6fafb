//! Kill a process that is inserting documents, at random moments: after reopening,
//! every acknowledged document is searchable by vector and by keyword.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

use common::Rng;
use serde_json::json;
use toondb::{CollectionConfig, Database};

const DIM: usize = 8;

fn vector_of(i: u64) -> Vec<f32> {
    Rng(i * 7919 + 1).vector(DIM)
}

#[test]
fn acknowledged_documents_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let mut acked_total = 0u64;
    for cycle in 0..4u64 {
        let mut child = common::spawn_child("writer_child", dir.path().to_str().unwrap());
        let out = BufReader::new(child.stdout.take().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut last = None;
            for line in out.lines() {
                let Ok(line) = line else { break };
                if line.ends_with("READY") {
                    let _ = tx.send(());
                } else if let Some(n) = line
                    .strip_prefix("ACK ")
                    .and_then(|n| n.parse::<u64>().ok())
                {
                    last = Some(n);
                }
            }
            last
        });
        rx.recv_timeout(Duration::from_secs(120))
            .expect("child ready");
        std::thread::sleep(Duration::from_millis(150 + cycle * 97 % 200));
        child.kill().unwrap();
        child.wait().unwrap();
        let Some(last) = reader.join().unwrap() else {
            continue;
        };
        acked_total = acked_total.max(last);

        let db = Database::open(dir.path()).unwrap();
        let c = db
            .namespace("crash")
            .unwrap()
            .get_collection("docs")
            .unwrap();
        assert!(
            c.count() as u64 >= acked_total,
            "cycle {cycle}: {} < {acked_total}",
            c.count()
        );
        for i in 1..=acked_total {
            let id = format!("d{i}");
            assert!(c.get(&id).unwrap().is_some(), "cycle {cycle}: {id} lost");
        }
        // Spot-check searches over the whole acknowledged range, oldest and newest.
        let step = (acked_total / 25).max(1);
        for i in (1..=acked_total)
            .step_by(step as usize)
            .chain([acked_total])
        {
            let id = format!("d{i}");
            let hits = c.search(&vector_of(i), 1, None).unwrap();
            assert_eq!(hits[0].id, id, "cycle {cycle}: vector search for {id}");
            let hits = c.keyword_search(&format!("token{i}"), 1, None).unwrap();
            assert_eq!(
                hits.first().map(|h| h.id.as_str()),
                Some(id.as_str()),
                "cycle {cycle}: keyword search for {id}"
            );
        }
        eprintln!("cycle {cycle}: {acked_total} acknowledged documents all searchable");
    }
}

/// Inserts documents d1, d2, … one by one (a checkpoint now and then, so reopen
/// exercises both catch-up from saved indexes and replay), printing `ACK n` after each.
#[test]
fn writer_child() {
    let Some(dir) = common::child_arg() else {
        return;
    };
    let db = Database::open(&dir).unwrap();
    let ns = match db.namespace("crash") {
        Ok(ns) => ns,
        Err(_) => db
            .create_namespace("crash", "Crash", BTreeMap::new())
            .unwrap(),
    };
    let c = ns
        .create_collection(CollectionConfig::new("docs", DIM))
        .unwrap();
    let mut i = c.count() as u64;
    let mut out = std::io::stdout();
    writeln!(out, "READY").unwrap();
    out.flush().unwrap();
    loop {
        i += 1;
        c.insert(
            &format!("d{i}"),
            vector_of(i),
            json!({"i": i}),
            Some(&format!("token{i} common words")),
        )
        .unwrap();
        writeln!(out, "ACK {i}").unwrap();
        out.flush().unwrap();
        if i.is_multiple_of(40) {
            db.checkpoint().unwrap();
        }
    }
}
