//! The bulk API: `.npy` input, build, query, info, and bad `.npy` files.

mod common;

use common::{brute_force, clustered, recall};
use npyz::WriterBuilder;
use toondb_vector::{
    BulkParams, DistanceMetric, Embeddings, HnswParams, VectorError, bulk_build_index, bulk_info,
    bulk_query_index, read_npy_f32, write_npy_f32,
};

fn write_npy<T: npyz::Serialize + npyz::AutoSerialize + Copy>(
    path: &std::path::Path,
    data: &[T],
    shape: &[u64],
) {
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(shape)
        .writer(std::io::BufWriter::new(
            std::fs::File::create(path).unwrap(),
        ))
        .begin_nd()
        .unwrap();
    w.extend(data.iter().copied()).unwrap();
    w.finish().unwrap();
}

#[test]
fn build_from_npy_then_query_and_describe() {
    let dir = tempfile::tempdir().unwrap();
    let (n, dim) = (2200, 12);
    let rows = clustered(n, dim, 31);
    let npy = dir.path().join("x.npy");
    write_npy_f32(&npy, &rows, dim).unwrap();
    let (back, d) = read_npy_f32(&npy).unwrap();
    assert_eq!((back.len(), d), (rows.len(), dim));
    assert_eq!(back, rows);

    let out = dir.path().join("x.hnsw");
    let params = BulkParams {
        metric: DistanceMetric::Euclidean,
        hnsw: HnswParams::default().with_m(12).with_ef_construction(60),
        dimension: Some(dim),
        threads: Some(2),
    };
    let stats = bulk_build_index(Embeddings::Npy(&npy), &out, &params).unwrap();
    assert_eq!(stats.vectors, n);
    assert!(stats.rate > 0.0);
    assert_eq!(stats.index_bytes, std::fs::metadata(&out).unwrap().len());

    let info = bulk_info(&out).unwrap();
    assert_eq!(
        (info.dimension, info.count, info.metric),
        (dim, n as u64, DistanceMetric::Euclidean)
    );

    let ids: Vec<u64> = (0..n as u64).collect();
    let mut total = 0.0;
    for q in clustered(20, dim, 32).chunks(dim) {
        let found = bulk_query_index(&out, q, 10, 64).unwrap();
        total += recall(
            &found,
            &brute_force(DistanceMetric::Euclidean, &rows, dim, &ids, q, 10, |_| true),
        );
    }
    assert!(total / 20.0 >= 0.95, "recall {}", total / 20.0);
    // Row i has id i.
    assert_eq!(
        bulk_query_index(&out, &rows[5 * dim..6 * dim], 1, 64).unwrap()[0].id,
        5
    );

    // Rows in memory give the same kind of index.
    let out2 = dir.path().join("y.hnsw");
    let stats = bulk_build_index(
        Embeddings::Rows {
            data: &rows[..100 * dim],
            dimension: dim,
        },
        &out2,
        &params,
    )
    .unwrap();
    assert_eq!(stats.vectors, 100);
    assert_eq!(
        bulk_query_index(&out2, &rows[7 * dim..8 * dim], 1, 16).unwrap()[0].id,
        7
    );
}

#[test]
fn bad_npy_files_and_bad_bulk_input_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    write_npy(&p("f64.npy"), &[1.0f64; 6], &[2, 3]);
    write_npy(&p("i32.npy"), &[1i32; 6], &[2, 3]);
    write_npy(&p("1d.npy"), &[1.0f32; 6], &[6]);
    write_npy(&p("3d.npy"), &[1.0f32; 8], &[2, 2, 2]);
    std::fs::write(p("text.npy"), b"not numpy at all").unwrap();
    for name in ["f64.npy", "i32.npy", "1d.npy", "3d.npy", "text.npy"] {
        match read_npy_f32(p(name)) {
            Err(e @ VectorError::UnsupportedNpy { .. }) => assert!(e.to_string().contains(name)),
            other => panic!("{name}: {other:?}"),
        }
    }
    assert!(matches!(
        read_npy_f32(p("missing.npy")),
        Err(VectorError::Io { .. })
    ));

    write_npy(&p("ok.npy"), &[1.0f32, 0.0, 0.0, 1.0], &[2, 2]);
    let params = BulkParams {
        dimension: Some(3),
        ..BulkParams::default()
    };
    assert!(matches!(
        bulk_build_index(Embeddings::Npy(&p("ok.npy")), p("o.hnsw"), &params),
        Err(VectorError::DimensionMismatch {
            expected: 3,
            actual: 2
        })
    ));
    let params = BulkParams {
        threads: Some(0),
        ..BulkParams::default()
    };
    assert!(matches!(
        bulk_build_index(Embeddings::Npy(&p("ok.npy")), p("o.hnsw"), &params),
        Err(VectorError::InvalidParameter {
            name: "threads",
            ..
        })
    ));
    // A zero row under cosine is rejected before anything is written.
    write_npy(&p("zero.npy"), &[1.0f32, 0.0, 0.0, 0.0], &[2, 2]);
    assert!(matches!(
        bulk_build_index(
            Embeddings::Npy(&p("zero.npy")),
            p("z.hnsw"),
            &BulkParams::default()
        ),
        Err(VectorError::ZeroVector)
    ));
    assert!(!p("z.hnsw").exists());
    assert!(matches!(
        bulk_query_index(p("nope.hnsw"), &[1.0], 1, 10),
        Err(VectorError::Io { .. })
    ));
    assert!(matches!(
        bulk_info(p("ok.npy")),
        Err(VectorError::NotAnIndexFile { .. })
    ));
}
