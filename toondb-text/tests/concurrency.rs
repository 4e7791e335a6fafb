//! Searches from many threads while one thread writes: every search sees one whole commit.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;

use toondb_text::{Analyzer, TextDocument, TextIndex, TextOp, TextSchema};

const LIVE: u64 = 100;
const COMMITS: u64 = 15;
const READERS: usize = 3;

fn doc(id: u64, round: u64) -> TextDocument {
    TextDocument::new(id).with("body", format!("common round{round} tag{id}"))
}

fn run(index: TextIndex) {
    // Round 0: ids 0..LIVE. Each later round deletes the 10 oldest ids, adds 10 new ones and
    // upserts 10 survivors, in one commit: LIVE documents are live in every commit.
    index
        .apply((0..LIVE).map(|id| TextOp::Add(doc(id, 0))))
        .unwrap();
    index.commit(0).unwrap();

    let done = Arc::new(AtomicBool::new(false));
    let searches = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = (0..READERS)
        .map(|r| {
            let index = index.clone();
            let done = done.clone();
            let searches = searches.clone();
            thread::spawn(move || {
                let mut last_seq = 0;
                while !done.load(Ordering::Acquire) {
                    let hits = index.search("common", 1000).unwrap();
                    assert_eq!(
                        hits.len() as u64,
                        LIVE,
                        "reader {r}: a partial commit is visible"
                    );
                    let mut ids: Vec<u64> = hits.iter().map(|h| h.0).collect();
                    ids.sort();
                    ids.dedup();
                    assert_eq!(ids.len() as u64, LIVE, "reader {r}: an upsert shows twice");
                    assert!(hits.windows(2).all(|w| w[0].1 >= w[1].1));
                    // The recorded sequence never goes backwards for an observer.
                    let seq = index.last_applied_seq().unwrap();
                    assert!(seq >= last_seq);
                    last_seq = seq;
                    // A filtered search agrees with the unfiltered one on its subset.
                    let some: Vec<u64> = ids.iter().copied().step_by(7).collect();
                    let filtered = index.search_filtered("tag", 10, &some).unwrap();
                    assert!(filtered.iter().all(|h| some.contains(&h.0)));
                    searches.fetch_add(1, Ordering::Relaxed);
                    // Leave the (2-core) CPU to the writer now and then.
                    thread::sleep(std::time::Duration::from_millis(1));
                }
            })
        })
        .collect();

    let mut oldest = 0u64;
    let mut next = LIVE;
    for round in 1..=COMMITS {
        let mut ops = Vec::new();
        for id in oldest..oldest + 10 {
            ops.push(TextOp::Delete(id));
        }
        for id in next..next + 10 {
            ops.push(TextOp::Add(doc(id, round)));
        }
        for id in oldest + 10..oldest + 20 {
            ops.push(TextOp::Upsert(doc(id, round)));
        }
        index.apply(ops).unwrap();
        index.commit(round).unwrap();
        // The writer reads its own writes immediately.
        let newest = next + 9;
        assert_eq!(
            index
                .search(&format!("tag{newest}"), 5)
                .unwrap()
                .first()
                .map(|h| h.0),
            Some(newest)
        );
        assert!(index.search(&format!("tag{oldest}"), 5).unwrap().is_empty());
        oldest += 10;
        next += 10;
    }
    done.store(true, Ordering::Release);
    for r in readers {
        r.join().expect("a reader thread failed");
    }
    assert!(searches.load(Ordering::Relaxed) > 0);
    assert_eq!(index.len(), LIVE);
    assert_eq!(index.last_applied_seq(), Some(COMMITS));
    let upserted = index.search(&format!("round{COMMITS}"), 100).unwrap();
    assert_eq!(
        upserted.len(),
        20,
        "10 added + 10 upserted in the last round"
    );
}

#[test]
fn readers_see_whole_commits_in_memory() {
    let index = TextIndex::builder()
        .writer_threads(2)
        .in_memory(TextSchema::single("body", Analyzer::Plain).unwrap())
        .unwrap();
    run(index);
}

#[test]
fn readers_see_whole_commits_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let index = TextIndex::builder()
        .writer_threads(1)
        .create(
            dir.path(),
            TextSchema::single("body", Analyzer::Plain).unwrap(),
        )
        .unwrap();
    run(index);
    drop(dir);
}

#[test]
fn concurrent_writers_are_serialized() {
    let index = TextIndex::builder()
        .writer_threads(1)
        .in_memory(TextSchema::single("body", Analyzer::Plain).unwrap())
        .unwrap();
    // Eight threads race to add the same 50 ids: each id is added exactly once.
    let wins = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let index = index.clone();
            let wins = wins.clone();
            thread::spawn(move || {
                for id in 0..50u64 {
                    match index.add(TextDocument::new(id).with("body", format!("w{t} x"))) {
                        Ok(()) => {
                            wins.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(toondb_text::Error::DuplicateId { .. }) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(wins.load(Ordering::Relaxed), 50);
    index.commit(1).unwrap();
    assert_eq!(index.len(), 50);
    assert_eq!(index.search("x", 100).unwrap().len(), 50);
}
