//! Crash safety: a child process writes and reports every acknowledged commit; the
//! parent kills it with SIGKILL at a random moment, reopens the database and checks
//! what survived.
//!
//! - `Full`: every acknowledged commit is present, and nothing half-written is.
//! - `Normal`: what survives is, per writer, a prefix of its commits (some acknowledged
//!   ones may be missing: that is the mode's documented window), never half a commit.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use toondb_storage::{Database, Error, SyncMode};

const WRITERS: u64 = 4;

fn mode_name(mode: SyncMode) -> &'static str {
    match mode {
        SyncMode::Full => "full",
        SyncMode::Normal => "normal",
        _ => "off",
    }
}

fn key(t: u64, part: &str, i: u64) -> Vec<u8> {
    format!("t{t}/{part}/{i:010}").into_bytes()
}

fn last_of(db: &Database, t: u64) -> u64 {
    db.get(format!("t{t}/last").as_bytes())
        .unwrap()
        .map_or(0, |v| u64::from_be_bytes(v.try_into().unwrap()))
}

/// Checks atomicity and the prefix property for every writer; returns each writer's
/// last surviving commit number.
fn check_consistent(db: &Database) -> HashMap<u64, u64> {
    let mut lasts = HashMap::new();
    for t in 0..WRITERS {
        let last = last_of(db, t);
        for part in ["a", "b"] {
            let present: Vec<u64> = db
                .scan_prefix(format!("t{t}/{part}/").as_bytes())
                .unwrap()
                .map(|r| u64::from_be_bytes(r.unwrap().1.try_into().unwrap()))
                .collect();
            let expect: Vec<u64> = (1..=last).collect();
            assert_eq!(
                present, expect,
                "writer {t} part {part}: surviving commits must be exactly 1..={last}"
            );
        }
        lasts.insert(t, last);
    }
    lasts
}

fn crash_cycles(mode: SyncMode, cycles: usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand::rng();
    let mut lost_acks = 0u64;
    let mut total_acks = 0u64;
    for cycle in 0..cycles {
        let arg = format!("{}|{}", mode_name(mode), dir.path().display());
        let mut child = common::spawn_child("crash_writer_child", &arg);
        let stdout = child.stdout.take().unwrap();
        let acks: Arc<Mutex<HashMap<u64, u64>>> = Arc::default();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let reader = {
            let acks = acks.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if line.ends_with("READY") {
                        let _ = ready_tx.send(());
                        continue;
                    }
                    // Lines of the test harness itself are not acknowledgements.
                    let Some((t, i)) = line.split_once(' ') else {
                        continue;
                    };
                    let (Ok(t), Ok(i)) = (t.parse::<u64>(), i.parse::<u64>()) else {
                        continue;
                    };
                    let mut acks = acks.lock().unwrap();
                    let e = acks.entry(t).or_insert(0);
                    *e = (*e).max(i);
                }
            })
        };
        ready_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("child became ready");
        std::thread::sleep(Duration::from_millis(rng.random_range(20..250)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();

        let db = Database::builder()
            .sync_mode(mode)
            .open(dir.path())
            .unwrap();
        let lasts = check_consistent(&db);
        let acks = acks.lock().unwrap();
        for (t, acked) in acks.iter() {
            total_acks += acked;
            let survived = lasts[t];
            if mode == SyncMode::Full {
                assert!(
                    survived >= *acked,
                    "cycle {cycle}: writer {t} acknowledged commit {acked} but only {survived} survived"
                );
            } else {
                lost_acks += acked.saturating_sub(survived);
            }
        }
        eprintln!("{mode:?} cycle {cycle}: acknowledged {acks:?}, survived {lasts:?}");
    }
    eprintln!("{mode:?}: {lost_acks} acknowledged commits lost in all");
    let _ = total_acks;
}

#[test]
fn full_mode_loses_no_acknowledged_commit() {
    crash_cycles(SyncMode::Full, 8);
}

#[test]
fn normal_mode_stays_consistent() {
    crash_cycles(SyncMode::Normal, 8);
}

/// The child: `WRITERS` threads each commit transactions numbered 1, 2, … writing
/// `t{t}/a/{i}`, `t{t}/b/{i}` and `t{t}/last`, and print `"{t} {i}"` after each commit
/// returns.
#[test]
fn crash_writer_child() {
    let Some(arg) = common::child_arg() else {
        return;
    };
    let (mode, dir) = arg.split_once('|').unwrap();
    let mode = match mode {
        "full" => SyncMode::Full,
        "normal" => SyncMode::Normal,
        _ => SyncMode::Off,
    };
    let db = Database::builder().sync_mode(mode).open(dir).unwrap();
    let out = Arc::new(Mutex::new(std::io::stdout()));
    {
        let mut o = out.lock().unwrap();
        writeln!(o, "READY").unwrap();
        o.flush().unwrap();
    }
    let handles: Vec<_> = (0..WRITERS)
        .map(|t| {
            let db = db.clone();
            let out = out.clone();
            std::thread::spawn(move || -> ! {
                let kv = db.kv_keyspace();
                let mut i = last_of(&db, t);
                loop {
                    i += 1;
                    db.transaction(|txn| {
                        txn.put(&kv, &key(t, "a", i), &i.to_be_bytes())?;
                        txn.put(&kv, &key(t, "b", i), &i.to_be_bytes())?;
                        txn.put(&kv, format!("t{t}/last").as_bytes(), &i.to_be_bytes())?;
                        Ok::<_, Error>(())
                    })
                    .unwrap();
                    let mut o = out.lock().unwrap();
                    writeln!(o, "{t} {i}").unwrap();
                    o.flush().unwrap();
                }
            })
        })
        .collect();
    // The writers loop until the parent kills the process.
    for h in handles {
        let _never = h.join();
    }
}
