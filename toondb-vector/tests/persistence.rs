//! The `.hnsw` file: round trips, damaged files of every kind, atomic replacement, and the
//! committed fixture of format version 1.

mod common;

use std::path::{Path, PathBuf};

use common::{brute_force, clustered, recall};
use toondb_vector::{DistanceMetric, FORMAT_VERSION, HnswParams, VectorError, VectorIndex};

const DIM: usize = 16;

fn small_index(n: usize) -> (VectorIndex, Vec<f32>) {
    let rows = clustered(n, DIM, 21);
    let index = VectorIndex::new(
        DIM,
        DistanceMetric::Cosine,
        HnswParams::default().with_m(8).with_ef_construction(40),
    )
    .unwrap();
    let ids: Vec<u64> = (0..n as u64).map(|i| i * 11).collect();
    index.insert_batch(&ids, &rows).unwrap();
    (index, rows)
}

#[test]
fn round_trip_gives_identical_results() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.hnsw");
    let (index, rows) = small_index(2100);
    // A second part from one-by-one inserts, and some tombstones.
    for i in 0..100u64 {
        index
            .insert(1_000_000 + i, &rows[i as usize * DIM..][..DIM])
            .unwrap();
    }
    for id in (0..500u64).map(|i| i * 11).step_by(5) {
        index.delete(id).unwrap();
    }
    index.save(&path).unwrap();
    let loaded = VectorIndex::load(&path).unwrap();
    assert_eq!(loaded.len(), index.len());
    assert_eq!(loaded.dimension(), DIM);
    assert_eq!(loaded.metric(), DistanceMetric::Cosine);
    assert_eq!(loaded.params().m, 8);
    assert_eq!(loaded.params().ef_construction, 40);
    assert_eq!(loaded.deleted_count(), index.deleted_count());
    for q in clustered(30, DIM, 99).chunks(DIM) {
        assert_eq!(index.search(q, 10).unwrap(), loaded.search(q, 10).unwrap());
        assert_eq!(
            index.search_exact(q, 10, None).unwrap(),
            loaded.search_exact(q, 10, None).unwrap()
        );
    }
    // The loaded index keeps working: insert, delete, save again.
    loaded.insert(5, &[1.0; DIM]).unwrap();
    loaded.delete(11).unwrap();
    loaded.save(&path).unwrap();
    let again = VectorIndex::load(&path).unwrap();
    assert_eq!(again.len(), loaded.len());
    assert_eq!(again.search(&[1.0; DIM], 1).unwrap()[0].id, 5);
    assert!(!again.contains(11));
    // No temporary file is left beside the index.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("a.hnsw")]);
    // The header describes the file.
    let info = VectorIndex::read_info(&path).unwrap();
    assert_eq!(
        (info.dimension, info.count, info.format_version),
        (DIM, again.len() as u64, FORMAT_VERSION)
    );
    assert_eq!(info.file_bytes, std::fs::metadata(&path).unwrap().len());
}

#[test]
fn empty_index_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.hnsw");
    let index = VectorIndex::new(3, DistanceMetric::Euclidean, HnswParams::default()).unwrap();
    index.save(&path).unwrap();
    let loaded = VectorIndex::load(&path).unwrap();
    assert!(loaded.is_empty());
    assert!(loaded.search(&[1.0, 2.0, 3.0], 3).unwrap().is_empty());
}

fn saved(dir: &Path) -> (PathBuf, Vec<u8>) {
    let path = dir.join("good.hnsw");
    let (index, _) = small_index(300);
    index.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    (path, bytes)
}

fn load_bytes(dir: &Path, name: &str, bytes: &[u8]) -> Result<VectorIndex, VectorError> {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    VectorIndex::load(&p)
}

#[test]
fn damaged_truncated_and_foreign_files_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (_, good) = saved(dir.path());
    assert!(load_bytes(dir.path(), "copy.hnsw", &good).is_ok());

    // Foreign files.
    assert!(matches!(
        load_bytes(dir.path(), "f1", b"PK\x03\x04 this is a zip file, honest"),
        Err(VectorError::NotAnIndexFile { .. })
    ));
    assert!(matches!(
        load_bytes(dir.path(), "f2", &[0u8; 200]),
        Err(VectorError::NotAnIndexFile { .. })
    ));
    assert!(matches!(
        load_bytes(dir.path(), "f3", b""),
        Err(VectorError::NotAnIndexFile { .. })
    ));
    // Missing file.
    assert!(matches!(
        VectorIndex::load(dir.path().join("nope.hnsw")),
        Err(VectorError::Io { .. })
    ));

    // Truncated anywhere: in the magic, in the header, in the body.
    for cut in [3, 40, 64, 100, good.len() / 2, good.len() - 1] {
        match load_bytes(dir.path(), "t", &good[..cut]) {
            Err(VectorError::Truncated { .. }) => {}
            other => panic!("cut at {cut}: {:?}", other.map(|_| ())),
        }
    }
    // Trailing garbage.
    let mut longer = good.clone();
    longer.extend_from_slice(b"junk");
    assert!(matches!(
        load_bytes(dir.path(), "long", &longer),
        Err(VectorError::Corrupt { .. })
    ));

    // A future version (with a valid header checksum) is refused as such.
    let mut future = good.clone();
    future[8..12].copy_from_slice(&2u32.to_le_bytes());
    let crc = crc32(&future[..60]);
    future[60..64].copy_from_slice(&crc.to_le_bytes());
    assert!(matches!(
        load_bytes(dir.path(), "v2", &future),
        Err(VectorError::UnsupportedVersion {
            version: 2,
            supported: 1,
            ..
        })
    ));

    // Every single flipped bit after the magic is caught by a checksum or a structure check.
    let step = (good.len() / 97).max(1);
    for pos in (8..good.len()).step_by(step) {
        let mut bad = good.clone();
        bad[pos] ^= 0x10;
        match load_bytes(dir.path(), "flip", &bad) {
            Err(
                VectorError::Corrupt { .. }
                | VectorError::Truncated { .. }
                | VectorError::UnsupportedVersion { .. },
            ) => {}
            other => panic!("flip at {pos}: {:?}", other.map(|_| ())),
        }
    }
}

/// Bit-for-bit CRC-32 (IEEE), independent of the crate under test.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn a_body_with_a_valid_checksum_but_bad_links_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (_, good) = saved(dir.path());
    // The file ends with the last upper-layer block `[count, link × m]` (m = 8; 300 slots
    // have some slot above layer 0 but for a ~1e-17 chance). Mark that block full and point
    // its last link at a huge slot, then fix both checksums so only the structure check can
    // notice. (Whatever the graph: the link is read because the block claims to be full.)
    let mut bad = good.clone();
    let n = bad.len();
    let m = 8;
    bad[n - 4 * (m + 1)..n - 4 * m].copy_from_slice(&(m as u32).to_le_bytes());
    bad[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
    let body_crc = crc32(&bad[64..]);
    bad[56..60].copy_from_slice(&body_crc.to_le_bytes());
    let crc = crc32(&bad[..60]);
    bad[60..64].copy_from_slice(&crc.to_le_bytes());
    assert!(matches!(
        load_bytes(dir.path(), "links", &bad),
        Err(VectorError::Corrupt { .. })
    ));
}

#[test]
fn saving_over_an_existing_index_replaces_it_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("i.hnsw");
    let a = VectorIndex::new(2, DistanceMetric::Euclidean, HnswParams::default()).unwrap();
    a.insert(1, &[1.0, 1.0]).unwrap();
    a.save(&path).unwrap();
    let b = VectorIndex::new(2, DistanceMetric::Euclidean, HnswParams::default()).unwrap();
    b.insert_batch(&[7, 8], &[0.0, 0.0, 5.0, 5.0]).unwrap();
    b.save(&path).unwrap();
    let loaded = VectorIndex::load(&path).unwrap();
    assert_eq!(loaded.len(), 2);
    assert!(!loaded.contains(1));
    // Saving into a directory that does not exist fails cleanly, leaving nothing behind.
    assert!(matches!(
        b.save(dir.path().join("missing/i.hnsw")),
        Err(VectorError::Io { .. })
    ));
}

/// Data of the committed fixture: regenerated here, so the fixture's answers can be checked
/// against brute force.
fn fixture_rows() -> Vec<f32> {
    clustered(600, DIM, 2024)
}

fn fixture_path() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/v1-cosine-600x16.hnsw"
    ))
}

/// Writes the fixture. Run once with `TOONDB_WRITE_FIXTURES=1` when a new format version is
/// introduced; version 1's file must stay as committed.
#[test]
fn write_fixture_when_asked() {
    if std::env::var_os("TOONDB_WRITE_FIXTURES").is_none() {
        return;
    }
    let rows = fixture_rows();
    let index = VectorIndex::new(
        DIM,
        DistanceMetric::Cosine,
        HnswParams::default().with_m(8).with_ef_construction(64),
    )
    .unwrap();
    let ids: Vec<u64> = (0..600u64).map(|i| i * 1000 + 1).collect();
    index.insert_batch(&ids[..500], &rows[..500 * DIM]).unwrap();
    for i in 500..600 {
        index.insert(ids[i], &rows[i * DIM..(i + 1) * DIM]).unwrap();
    }
    for &id in ids.iter().step_by(10) {
        index.delete(id).unwrap();
    }
    index.save(fixture_path()).unwrap();
}

#[test]
fn loads_the_committed_version_1_fixture() {
    let path = fixture_path();
    let info = VectorIndex::read_info(&path).unwrap();
    assert_eq!(info.format_version, 1);
    assert_eq!(
        (info.dimension, info.metric, info.count),
        (DIM, DistanceMetric::Cosine, 540)
    );
    assert_eq!((info.params.m, info.params.ef_construction), (8, 64));
    let index = VectorIndex::load(&path).unwrap();
    assert_eq!(index.len(), 540);
    let rows = fixture_rows();
    let ids: Vec<u64> = (0..600u64).map(|i| i * 1000 + 1).collect();
    let deleted = |id: u64| ((id - 1) / 1000).is_multiple_of(10);
    assert!(ids.iter().all(|&id| index.contains(id) != deleted(id)));
    // Stored vectors are the normalized rows.
    let v = index.get(ids[1]).unwrap();
    let r = &rows[DIM..2 * DIM];
    let norm = r.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!(v.iter().zip(r).all(|(a, b)| (a - b / norm).abs() < 1e-6));
    let mut total = 0.0;
    for q in clustered(20, DIM, 7).chunks(DIM) {
        let found = index.search_with_ef(q, 10, 100).unwrap();
        assert!(found.iter().all(|n| !deleted(n.id)));
        total += recall(
            &found,
            &brute_force(DistanceMetric::Cosine, &rows, DIM, &ids, q, 10, |id| {
                !deleted(id)
            }),
        );
    }
    assert!(
        total / 20.0 >= 0.95,
        "recall on the fixture {}",
        total / 20.0
    );
}
