//! Opening what is not a healthy toondb-text index: typed errors, never a panic.

use std::path::Path;

use toondb_text::{Analyzer, Error, TextDocument, TextField, TextIndex, TextSchema};

fn schema() -> TextSchema {
    TextSchema::single("body", Analyzer::English).unwrap()
}

/// A committed index with a few documents, closed.
fn make_index(dir: &Path) {
    let index = TextIndex::builder()
        .writer_threads(1)
        .create(dir, schema())
        .unwrap();
    for i in 0..20u64 {
        index
            .add(TextDocument::new(i).with("body", format!("document number {i} about things")))
            .unwrap();
    }
    index.commit(5).unwrap();
}

/// Every file of the index whose name ends with `ext`.
fn files_with_ext(dir: &Path, ext: &str) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    out.sort();
    out
}

#[test]
fn missing_and_empty_paths_are_not_found() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        TextIndex::open(dir.path().join("absent")),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        TextIndex::open(dir.path()),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn a_file_or_foreign_directory_is_not_an_index() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, b"hello").unwrap();
    assert!(matches!(
        TextIndex::open(&file),
        Err(Error::NotAnIndex { .. })
    ));
    assert!(matches!(
        TextIndex::create(&file, schema()),
        Err(Error::AlreadyExists { .. })
    ));
    // A directory of someone else's files.
    let foreign = dir.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), b"not an index").unwrap();
    let err = TextIndex::open(&foreign).unwrap_err();
    assert!(matches!(err, Error::NotAnIndex { .. }), "{err}");
    assert!(matches!(
        TextIndex::create(&foreign, schema()),
        Err(Error::AlreadyExists { .. })
    ));
    assert!(matches!(
        TextIndex::open_or_create(&foreign, schema()),
        Err(Error::NotAnIndex { .. })
    ));
}

#[test]
fn a_plain_tantivy_index_is_not_ours() {
    use tantivy::schema::{Schema, TEXT};
    let dir = tempfile::tempdir().unwrap();
    let mut b = Schema::builder();
    let body = b.add_text_field("body", TEXT);
    let index = tantivy::Index::create_in_dir(dir.path(), b.build()).unwrap();
    let mut writer: tantivy::IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
    writer.add_document(tantivy::doc!(body => "hello")).unwrap();
    writer.commit().unwrap();
    drop(writer);
    let err = TextIndex::open(dir.path()).unwrap_err();
    assert!(matches!(err, Error::NotAnIndex { .. }), "{err}");

    // Same schema shape as ours but no toondb-text commit marker.
    let dir = tempfile::tempdir().unwrap();
    let mut b = Schema::builder();
    b.add_u64_field(
        "_id",
        tantivy::schema::NumericOptions::default()
            .set_indexed()
            .set_fast(),
    );
    b.add_text_field(
        "body",
        tantivy::schema::TextOptions::default().set_indexing_options(
            tantivy::schema::TextFieldIndexing::default().set_tokenizer("toondb_en_v1"),
        ),
    );
    let index = tantivy::Index::create_in_dir(dir.path(), b.build()).unwrap();
    let mut writer: tantivy::IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
    writer.commit().unwrap();
    drop(writer);
    let err = TextIndex::open(dir.path()).unwrap_err();
    assert!(
        matches!(err, Error::NotAnIndex { ref reason, .. } if reason.contains("marker")),
        "{err}"
    );
}

#[test]
fn create_refuses_an_existing_index_and_open_or_create_checks_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    make_index(dir.path());
    assert!(matches!(
        TextIndex::create(dir.path(), schema()),
        Err(Error::AlreadyExists { .. })
    ));
    let other = TextSchema::builder()
        .field(TextField::new("body").analyzer(Analyzer::Plain))
        .build()
        .unwrap();
    let err = TextIndex::open_or_create(dir.path(), other).unwrap_err();
    assert!(matches!(err, Error::SchemaMismatch { .. }), "{err}");
    // The matching schema opens it, data intact.
    let index = TextIndex::open_or_create(dir.path(), schema()).unwrap();
    assert_eq!(index.len(), 20);
}

#[test]
fn a_second_writer_is_locked_out() {
    let dir = tempfile::tempdir().unwrap();
    make_index(dir.path());
    let first = TextIndex::open(dir.path()).unwrap();
    let err = TextIndex::open(dir.path()).unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    drop(first);
    assert!(
        TextIndex::open(dir.path()).is_ok(),
        "the lock is released on drop"
    );
}

#[test]
fn garbage_meta_json_is_corruption() {
    for garbage in [&b"{ not json"[..], b"", b"{}", b"\xff\xfe\x00", b"[1,2,3]"] {
        let dir = tempfile::tempdir().unwrap();
        make_index(dir.path());
        std::fs::write(dir.path().join("meta.json"), garbage).unwrap();
        let err = TextIndex::open(dir.path()).unwrap_err();
        assert!(err.is_corruption(), "{garbage:?}: {err}");
    }
}

#[test]
fn a_missing_segment_file_is_corruption() {
    for ext in ["idx", "term", "store", "fast", "fieldnorm"] {
        let dir = tempfile::tempdir().unwrap();
        make_index(dir.path());
        let files = files_with_ext(dir.path(), ext);
        assert!(!files.is_empty(), "no .{ext} file");
        for f in files {
            std::fs::remove_file(f).unwrap();
        }
        let err = TextIndex::open(dir.path()).unwrap_err();
        assert!(err.is_corruption(), ".{ext} removed: {err}");
    }
}

#[test]
fn damaged_segment_bytes_are_detected() {
    for ext in ["idx", "term", "store", "fast", "fieldnorm"] {
        for truncate in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            make_index(dir.path());
            for f in files_with_ext(dir.path(), ext) {
                let mut bytes = std::fs::read(&f).unwrap();
                if truncate {
                    bytes.truncate(bytes.len() / 2);
                } else {
                    let mid = bytes.len() / 2;
                    bytes[mid] ^= 0x5a;
                }
                std::fs::write(&f, bytes).unwrap();
            }
            let err = TextIndex::open(dir.path()).unwrap_err();
            assert!(err.is_corruption(), ".{ext} truncate={truncate}: {err}");
        }
    }
}

#[test]
fn without_checksum_verification_damage_still_never_panics() {
    // Skipping the checksum pass trades detection for open speed: opening or searching a
    // damaged index may then fail with some error, or return wrong results, but not panic.
    for ext in ["idx", "term", "fieldnorm", "fast"] {
        let dir = tempfile::tempdir().unwrap();
        make_index(dir.path());
        for f in files_with_ext(dir.path(), ext) {
            let mut bytes = std::fs::read(&f).unwrap();
            bytes.truncate(bytes.len() / 2);
            std::fs::write(&f, bytes).unwrap();
        }
        let opened = TextIndex::builder()
            .verify_checksums(false)
            .writer_threads(1)
            .open(dir.path());
        if let Ok(index) = opened {
            let _ = index.search("document things", 10);
            let _ = index.get(3);
        }
    }
}
