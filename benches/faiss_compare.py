"""Compare hashlens's exact Hamming search with FAISS IndexBinaryFlat on identical codes.

For each size: draw uniformly random codes with numpy, write them as raw bytes (the layout both tools
share), time FAISS (single queries one by one, then one batch), run `hashlens bench search --json` on the
same files, check that the sums of returned distances agree, and print the ratios. Run through
benches/faiss_compare.sh, which installs the dependencies.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import faiss
import numpy as np


def faiss_times(db, queries, bits, k, threads):
    faiss.omp_set_num_threads(threads)
    index = faiss.IndexBinaryFlat(bits)
    index.add(db)
    for q in queries[:3]:  # warm-up
        index.search(q[None, :], k)
    times = []
    dist_sum = 0
    for q in queries:
        t = time.perf_counter()
        d, _ = index.search(q[None, :], k)
        times.append((time.perf_counter() - t) * 1e3)
        dist_sum += int(d.sum())
    t = time.perf_counter()
    d, _ = index.search(queries, k)
    batch_s = time.perf_counter() - t
    times.sort()
    return {
        "median_ms": times[len(times) // 2],
        "p95_ms": times[min(len(times) - 1, int(np.ceil(0.95 * len(times))) - 1)],
        "qps": 1e3 / (sum(times) / len(times)),
        "batch_qps": len(queries) / batch_s,
        "distance_sum": dist_sum,
        "batch_distance_sum": int(d.sum()),
    }


def hashlens_times(exe, db_path, q_path, bits, k, n_queries, threads):
    out = subprocess.run(
        [exe, "bench", "search", "--bits", str(bits), "--k", str(k), "--queries", str(n_queries),
         "--threads", str(threads), "--codes", db_path, "--query-codes", q_path, "--json"],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hashlens", required=True)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--big", action="store_true", help="also 10M x 64 bits")
    args = ap.parse_args()

    sizes = [(1_000_000, 64), (1_000_000, 128)]
    if args.big:
        sizes.append((10_000_000, 64))
    rng = np.random.default_rng(0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, bits in sizes:
            db = rng.integers(0, 256, size=(n, bits // 8), dtype=np.uint8)
            queries = rng.integers(0, 256, size=(args.queries, bits // 8), dtype=np.uint8)
            db_path, q_path = os.path.join(tmp, "db.u8"), os.path.join(tmp, "q.u8")
            db.tofile(db_path)
            queries.tofile(q_path)
            f = faiss_times(db, queries, bits, args.k, args.threads)
            h = hashlens_times(args.hashlens, db_path, q_path, bits, args.k, args.queries, args.threads)
            same = f["distance_sum"] == h["distance_sum"] == f["batch_distance_sum"]
            rows.append({
                "n": n, "bits": bits, "k": args.k, "threads": args.threads, "kernel": h["kernel"],
                "faiss_median_ms": f["median_ms"], "hashlens_median_ms": h["median_ms"],
                "speedup_single": f["median_ms"] / h["median_ms"],
                "faiss_batch_qps": f["batch_qps"], "hashlens_batch_qps": h["batch_qps"],
                "speedup_batch": h["batch_qps"] / f["batch_qps"],
                "same_distances": same,
            })
            del db

    print(f"FAISS {faiss.__version__} IndexBinaryFlat vs hashlens, k={args.k}, {args.threads} thread(s), "
          f"{args.queries} queries")
    print(f"{'codes':>16} {'FAISS ms':>9} {'hashlens ms':>12} {'ratio':>6} {'FAISS q/s':>10} "
          f"{'hashlens q/s':>13} {'ratio':>6}  same")
    for r in rows:
        print(f"{r['n']:>10,} × {r['bits']:<3} {r['faiss_median_ms']:>9.3f} {r['hashlens_median_ms']:>12.3f} "
              f"{r['speedup_single']:>5.2f}× {r['faiss_batch_qps']:>10.0f} {r['hashlens_batch_qps']:>13.0f} "
              f"{r['speedup_batch']:>5.2f}×  {r['same_distances']}")
    print(json.dumps(rows))
    if not all(r["same_distances"] for r in rows):
        sys.exit("hashlens and FAISS returned neighbours at different distances")


if __name__ == "__main__":
    main()
