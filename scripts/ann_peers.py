#!/usr/bin/env python3
"""Python half of the ToonDB vector benchmark: builds and queries hnswlib and faiss (HNSW,
flat storage) on the same .npy data as the Rust half, and prints one JSON object per library.

Run by `cargo bench -p toondb-vector --bench ann`; needs the venv from scripts/bench-venv.sh.
Build uses --threads threads; searches run one query at a time on one thread (as the Rust half).
Memory is the growth of resident memory (VmRSS) across the build, per vector.
"""
import argparse
import json
import time

import numpy as np


def rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def recall_at(found, gt, k):
    hits = 0
    for row, truth in zip(found, gt):
        hits += len(set(int(x) for x in row[:k]) & set(int(x) for x in truth[:k]))
    return hits / (k * len(gt))


def run_hnswlib(base, queries, gt, args):
    import hnswlib

    space = {"cosine": "cosine", "euclidean": "l2", "dot": "ip"}[args.metric]
    n, dim = base.shape
    before = rss_bytes()
    t = time.perf_counter()
    index = hnswlib.Index(space=space, dim=dim)
    index.init_index(max_elements=n, ef_construction=args.efc, M=args.m, random_seed=1)
    index.set_num_threads(args.threads)
    index.add_items(base, np.arange(n))
    build = time.perf_counter() - t
    mem = rss_bytes() - before
    index.set_num_threads(1)
    out = {"library": "hnswlib", "build_vps": n / build, "mem_per_vector": mem / n, "ef": {}}
    for ef in args.ef:
        index.set_ef(ef)
        t = time.perf_counter()
        found = [index.knn_query(q.reshape(1, -1), k=args.k)[0][0] for q in queries]
        secs = time.perf_counter() - t
        out["ef"][str(ef)] = {"qps": len(queries) / secs, "recall": recall_at(found, gt, args.k)}
    return out


def run_faiss(base, queries, gt, args):
    import faiss

    n, dim = base.shape
    if args.metric == "cosine":
        base = base / np.linalg.norm(base, axis=1, keepdims=True)
        queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    metric = faiss.METRIC_L2 if args.metric == "euclidean" else faiss.METRIC_INNER_PRODUCT
    base = np.ascontiguousarray(base, dtype=np.float32)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    faiss.omp_set_num_threads(args.threads)
    before = rss_bytes()
    t = time.perf_counter()
    index = faiss.IndexHNSWFlat(dim, args.m, metric)
    index.hnsw.efConstruction = args.efc
    index.add(base)
    build = time.perf_counter() - t
    mem = rss_bytes() - before
    faiss.omp_set_num_threads(1)
    out = {"library": "faiss", "build_vps": n / build, "mem_per_vector": mem / n, "ef": {}}
    for ef in args.ef:
        index.hnsw.efSearch = ef
        t = time.perf_counter()
        found = [index.search(q.reshape(1, -1), args.k)[1][0] for q in queries]
        secs = time.perf_counter() - t
        out["ef"][str(ef)] = {"qps": len(queries) / secs, "recall": recall_at(found, gt, args.k)}
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--base", required=True)
    p.add_argument("--queries", required=True)
    p.add_argument("--gt", required=True, help="int .npy of exact neighbour row indices, best first")
    p.add_argument("--metric", choices=["cosine", "euclidean", "dot"], default="cosine")
    p.add_argument("--m", type=int, default=16)
    p.add_argument("--efc", type=int, default=200)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--ef", type=int, nargs="+", default=[64, 128])
    p.add_argument("--libs", nargs="+", default=["hnswlib", "faiss"])
    args = p.parse_args()
    base = np.load(args.base).astype(np.float32)
    queries = np.load(args.queries).astype(np.float32)
    gt = np.load(args.gt)
    for lib in args.libs:
        run = {"hnswlib": run_hnswlib, "faiss": run_faiss}[lib]
        print(json.dumps(run(base, queries, gt, args)), flush=True)


if __name__ == "__main__":
    main()
