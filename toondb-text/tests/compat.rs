//! Backward compatibility: an index written by toondb-text format 1 (committed under
//! `tests/fixtures/text-index-v1`) still opens, searches and reports its sequence number.
//! Regenerate (only when the format deliberately changes, as a new fixture):
//! `TOONDB_WRITE_FIXTURES=1 cargo test -p toondb-text --test compat -- --ignored`.

use std::path::{Path, PathBuf};

use toondb_text::{Analyzer, TextDocument, TextField, TextIndex, TextSchema};

fn fixture() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/text-index-v1"
    ))
}

fn schema() -> TextSchema {
    TextSchema::builder()
        .field(TextField::new("title").stored(true))
        .field(TextField::new("body").analyzer(Analyzer::Plain))
        .build()
        .unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn format_1_fixture_opens_and_searches() {
    // Work on a copy: opening takes the writer lock (a file) in the directory.
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture(), dir.path());
    let index = TextIndex::open(dir.path()).unwrap();
    assert_eq!(index.schema(), &schema());
    assert_eq!(index.last_applied_seq(), Some(77));
    assert_eq!(index.len(), 3, "4 added, 1 deleted");
    let ids = |q: &str| {
        index
            .search(q, 10)
            .unwrap()
            .into_iter()
            .map(|h| h.0)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids("connections"), [10]); // English stemming on title: "connections" = "connected"
    assert_eq!(ids("engines"), [30]); // Plain on body: exact word
    assert!(ids("engine").is_empty());
    assert!(ids("deleted").is_empty());
    assert_eq!(
        index.get(20).unwrap().unwrap().get("title"),
        Some("Second title")
    );
    // And it accepts new writes.
    index
        .add(TextDocument::new(50).with("body", "fresh"))
        .unwrap();
    index.commit(78).unwrap();
    assert_eq!(ids("fresh"), [50]);
}

#[test]
#[ignore = "writes the committed fixture; run on purpose only"]
fn write_fixture() {
    if std::env::var_os("TOONDB_WRITE_FIXTURES").is_none() {
        return;
    }
    let dir = fixture();
    let _ = std::fs::remove_dir_all(&dir);
    let index = TextIndex::builder()
        .writer_threads(1)
        .create(&dir, schema())
        .unwrap();
    index
        .add(
            TextDocument::new(10)
                .with("title", "Connected things")
                .with("body", "alpha"),
        )
        .unwrap();
    index
        .add(
            TextDocument::new(20)
                .with("title", "Second title")
                .with("body", "beta gamma"),
        )
        .unwrap();
    index
        .add(
            TextDocument::new(30)
                .with("title", "Third")
                .with("body", "search engines"),
        )
        .unwrap();
    index
        .add(
            TextDocument::new(40)
                .with("title", "Gone")
                .with("body", "deleted"),
        )
        .unwrap();
    index.commit(70).unwrap();
    index.delete(40).unwrap();
    index.commit(77).unwrap();
}
