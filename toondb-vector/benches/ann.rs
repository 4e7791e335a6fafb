//! ToonDB against hnswlib and faiss, side by side in one run.
//!
//! `scripts/bench-venv.sh && cargo bench -p toondb-vector --bench ann`
//!
//! Datasets: the real sentence embeddings in `../shared/data/gcide-ann` (20 000 × 384,
//! exact ground truth) and a synthetic clustered set (default 20 000 × 768). Same parameters
//! for every library (M=16, ef_construction=200, cosine), build on `--threads` threads,
//! searches one query at a time on one thread. Prints build vectors/s, QPS and recall@10 at
//! ef_search 64 and 128, resident memory per vector, and the ratios to hnswlib.
//! Options: `--threads N`, `--synthetic-n N`, `--synthetic-dim D`, `--only gcide|synthetic`.

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use npyz::WriterBuilder;
use rayon::prelude::*;
use toondb_vector::{DistanceMetric, HnswParams, VectorIndex, read_npy_f32, write_npy_f32};

const K: usize = 10;
const EFS: [usize; 2] = [64, 128];

fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

struct Row {
    library: String,
    build_vps: f64,
    mem_per_vector: f64,
    qps: Vec<f64>,
    recall: Vec<f64>,
}

fn read_gt(path: &Path) -> Vec<Vec<u64>> {
    let npy = npyz::NpyFile::new(BufReader::new(std::fs::File::open(path).expect("gt file")))
        .expect("gt npy");
    let cols = npy.shape()[1] as usize;
    let v: Vec<i32> = npy.into_vec().expect("gt int32");
    v.chunks(cols)
        .map(|r| r.iter().take(K).map(|&x| x as u64).collect())
        .collect()
}

fn run_toondb(
    base: &[f32],
    dim: usize,
    queries: &[f32],
    gt: &[Vec<u64>],
    threads: usize,
    tmp: &Path,
) -> Row {
    let n = base.len() / dim;
    let params = HnswParams::default()
        .with_m(16)
        .with_ef_construction(200)
        .with_max_elements(n);
    let index = VectorIndex::new(dim, DistanceMetric::Cosine, params).expect("index");
    let ids: Vec<u64> = (0..n as u64).collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool");
    let t = Instant::now();
    pool.install(|| index.insert_batch(&ids, base))
        .expect("build");
    let build = t.elapsed().as_secs_f64();
    let path = tmp.join("toondb.hnsw");
    index.save(&path).expect("save");
    // Resident memory of the index as loaded in a fresh process (the steady state).
    let exe = std::env::current_exe().expect("exe");
    let out = Command::new(exe)
        .arg("--rss-of")
        .arg(&path)
        .output()
        .expect("child");
    let loaded: f64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(f64::NAN);
    let mut qps = Vec::new();
    let mut recall = Vec::new();
    for ef in EFS {
        let t = Instant::now();
        let found: Vec<Vec<u64>> = queries
            .chunks(dim)
            .map(|q| {
                index
                    .search_with_ef(q, K, ef)
                    .expect("search")
                    .iter()
                    .map(|n| n.id)
                    .collect()
            })
            .collect();
        qps.push(gt.len() as f64 / t.elapsed().as_secs_f64());
        let hits: usize = found
            .iter()
            .zip(gt)
            .map(|(f, g)| f.iter().filter(|id| g.contains(id)).count())
            .sum();
        recall.push(hits as f64 / (K * gt.len()) as f64);
    }
    eprintln!(
        "  toondb heap accounting: {:.0} bytes/vector; file {} bytes",
        index.memory_bytes() as f64 / n as f64,
        std::fs::metadata(&path).map_or(0, |m| m.len())
    );
    Row {
        library: "toondb".into(),
        build_vps: n as f64 / build,
        mem_per_vector: loaded / n as f64,
        qps,
        recall,
    }
}

fn run_peers(base: &Path, queries: &Path, gt: &Path, threads: usize) -> Vec<Row> {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let python = root.join(".venv/bin/python");
    if !python.exists() {
        eprintln!(
            "  peers skipped: {} missing; run scripts/bench-venv.sh",
            python.display()
        );
        return Vec::new();
    }
    let out = Command::new(python)
        .arg(root.join("scripts/ann_peers.py"))
        .args([
            "--base".as_ref(),
            base.as_os_str(),
            "--queries".as_ref(),
            queries.as_os_str(),
            "--gt".as_ref(),
            gt.as_os_str(),
        ])
        .args([
            "--metric",
            "cosine",
            "--m",
            "16",
            "--efc",
            "200",
            "--threads",
            &threads.to_string(),
            "--k",
            "10",
            "--ef",
            "64",
            "128",
        ])
        .output()
        .expect("run ann_peers.py");
    if !out.status.success() {
        eprintln!("  peers failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| Row {
            library: v["library"].as_str().unwrap_or("?").to_string(),
            build_vps: v["build_vps"].as_f64().unwrap_or(f64::NAN),
            mem_per_vector: v["mem_per_vector"].as_f64().unwrap_or(f64::NAN),
            qps: EFS
                .iter()
                .map(|ef| v["ef"][ef.to_string()]["qps"].as_f64().unwrap_or(f64::NAN))
                .collect(),
            recall: EFS
                .iter()
                .map(|ef| {
                    v["ef"][ef.to_string()]["recall"]
                        .as_f64()
                        .unwrap_or(f64::NAN)
                })
                .collect(),
        })
        .collect()
}

fn report(title: &str, rows: &[Row]) {
    println!("\n== {title} ==");
    println!(
        "{:<8} {:>12} {:>10} {:>10} {:>10} {:>10} {:>12}",
        "library", "build vec/s", "QPS@64", "recall@64", "QPS@128", "recall@128", "mem/vector"
    );
    for r in rows {
        println!(
            "{:<8} {:>12.0} {:>10.0} {:>10.4} {:>10.0} {:>10.4} {:>10.0} B",
            r.library, r.build_vps, r.qps[0], r.recall[0], r.qps[1], r.recall[1], r.mem_per_vector
        );
    }
    let Some(us) = rows.iter().find(|r| r.library == "toondb") else {
        return;
    };
    for peer in rows.iter().filter(|r| r.library != "toondb") {
        println!(
            "toondb/{:<8} build {:.2}x  QPS@64 {:.2}x  QPS@128 {:.2}x  memory {:.2}x",
            peer.library,
            us.build_vps / peer.build_vps,
            us.qps[0] / peer.qps[0],
            us.qps[1] / peer.qps[1],
            us.mem_per_vector / peer.mem_per_vector
        );
    }
}

/// Seeded clustered data: `n` rows around 100 centres, plus `q` queries from the same law.
fn synthetic(n: usize, q: usize, dim: usize) -> (Vec<f32>, Vec<f32>) {
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let centres: Vec<f32> = (0..100 * dim).map(|_| next()).collect();
    let mut draw = |count: usize| {
        let mut out = Vec::with_capacity(count * dim);
        for _ in 0..count {
            let c = ((next() + 0.5) * 100.0) as usize % 100;
            for j in 0..dim {
                out.push(centres[c * dim + j] + 0.6 * (next() + next() + next()));
            }
        }
        out
    };
    let base = draw(n);
    let queries = draw(q);
    (base, queries)
}

fn exact_gt(base: &[f32], queries: &[f32], dim: usize) -> Vec<Vec<u32>> {
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let norms: Vec<f32> = base.chunks(dim).map(norm).collect();
    queries
        .par_chunks(dim)
        .map(|q| {
            let qn = norm(q);
            let mut d: Vec<(f32, u32)> = base
                .chunks(dim)
                .zip(&norms)
                .enumerate()
                .map(|(i, (r, n))| {
                    (
                        1.0 - r.iter().zip(q).map(|(a, b)| a * b).sum::<f32>() / (n * qn),
                        i as u32,
                    )
                })
                .collect();
            d.select_nth_unstable_by(100, |a, b| a.0.total_cmp(&b.0));
            d.truncate(100);
            d.sort_by(|a, b| a.0.total_cmp(&b.0));
            d.into_iter().map(|(_, i)| i).collect()
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--rss-of") {
        let before = rss();
        let index = VectorIndex::load(&args[2]).expect("load");
        let after = rss();
        println!("{}", after.saturating_sub(before));
        drop(index);
        return;
    }
    let opt = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let threads: usize = opt("--threads").and_then(|s| s.parse().ok()).unwrap_or(2);
    let syn_n: usize = opt("--synthetic-n")
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let syn_dim: usize = opt("--synthetic-dim")
        .and_then(|s| s.parse().ok())
        .unwrap_or(768);
    let only = opt("--only");
    let tmp = std::env::temp_dir().join(format!("toondb-ann-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("tmp dir");

    let gcide = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/gcide-ann"
    ));
    if only.as_deref().is_none_or(|o| o == "gcide") {
        if gcide.join("base.npy").exists() {
            let (base, dim) = read_npy_f32(gcide.join("base.npy")).expect("base");
            let (queries, _) = read_npy_f32(gcide.join("queries.npy")).expect("queries");
            let gt = read_gt(&gcide.join("gt_ids.npy"));
            let mut rows = vec![run_toondb(&base, dim, &queries, &gt, threads, &tmp)];
            rows.extend(run_peers(
                &gcide.join("base.npy"),
                &gcide.join("queries.npy"),
                &gcide.join("gt_ids.npy"),
                threads,
            ));
            report(
                &format!(
                    "gcide-ann: {} x {dim} real sentence embeddings, cosine, M=16, ef_construction=200, {threads} build threads, 1 search thread, {} queries",
                    base.len() / dim,
                    gt.len()
                ),
                &rows,
            );
        } else {
            println!("gcide-ann skipped: {} not found", gcide.display());
        }
    }
    if only.as_deref().is_none_or(|o| o == "synthetic") {
        let (base, queries) = synthetic(syn_n, 500, syn_dim);
        let gt_full = exact_gt(&base, &queries, syn_dim);
        let (b, q, g) = (
            tmp.join("syn_base.npy"),
            tmp.join("syn_queries.npy"),
            tmp.join("syn_gt.npy"),
        );
        write_npy_f32(&b, &base, syn_dim).expect("write");
        write_npy_f32(&q, &queries, syn_dim).expect("write");
        let flat: Vec<i32> = gt_full.iter().flatten().map(|&x| x as i32).collect();
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&[gt_full.len() as u64, 100])
            .writer(std::io::BufWriter::new(
                std::fs::File::create(&g).expect("gt"),
            ))
            .begin_nd()
            .expect("gt npy");
        w.extend(flat).expect("gt");
        w.finish().expect("gt");
        let gt: Vec<Vec<u64>> = gt_full
            .iter()
            .map(|r| r.iter().take(K).map(|&x| u64::from(x)).collect())
            .collect();
        let mut rows = vec![run_toondb(&base, syn_dim, &queries, &gt, threads, &tmp)];
        rows.extend(run_peers(&b, &q, &g, threads));
        report(
            &format!(
                "synthetic clustered: {syn_n} x {syn_dim}, 100 clusters, cosine, M=16, ef_construction=200, {threads} build threads, 1 search thread, 500 queries"
            ),
            &rows,
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
