"""Radius search: hashlens's multi-index hashing and exact scan against FAISS's IndexBinaryMultiHash and
IndexBinaryFlat, on the same random codes and queries, one thread, in one run.

For each (codes, bits): draw uniformly random codes with numpy, write them as raw bytes (the layout both
tools share), run `hashlens bench radius --codes FILE --json` (which checks that multi-index results
equal the exact scan's), then time FAISS on the same queries — database codes 0, step, 2·step, … as
hashlens picks them — and check that FAISS finds as many neighbours in all. FAISS's binary range search
returns distances strictly below its radius, so it is asked for radius + 1; its multi-hash index probes
the buckets within `nflip` bits of each substring (default 0, which misses neighbours beyond radius m − 1),
so nflip is set to radius // m, the least that makes it exact. Run through
benches/radius_compare.sh, which installs the dependencies.
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


def faiss_range(index, queries, radius, nflip=None):
    if nflip is not None:
        # Exact by the pigeonhole principle: some table's substring is within r // m bits.
        index.nflip = nflip
    times, found = [], 0
    for q in queries:
        t = time.perf_counter()
        lims, d, _ = index.range_search(q[None, :], radius + 1)
        times.append((time.perf_counter() - t) * 1e3)
        found += int(lims[-1])
        assert (d <= radius).all()
    times.sort()
    return times[len(times) // 2], found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hashlens", required=True)
    ap.add_argument("--sizes", default="1000000x64,1000000x128,10000000x64,10000000x128")
    ap.add_argument("--radius", default="0,1,2,3,4,6,8")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--codes", help="raw packed codes of real photos (one --sizes entry gives the bits)")
    args = ap.parse_args()
    faiss.omp_set_num_threads(1)
    radii = [int(r) for r in args.radius.split(",")]
    rng = np.random.default_rng(0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes.split(","):
            n, bits = (int(x) for x in size.split("x"))
            if args.codes:
                db = np.fromfile(args.codes, dtype=np.uint8).reshape(-1, bits // 8)
                n = len(db)
            else:
                db = rng.integers(0, 256, size=(n, bits // 8), dtype=np.uint8)
            path = os.path.join(tmp, "db.u8")
            db.tofile(path)
            out = subprocess.run(
                [args.hashlens, "bench", "radius", "--codes", path, "--bits", str(bits), "--radius",
                 args.radius, "--queries", str(args.queries), "--threads", "1", "--json"],
                check=True, capture_output=True, text=True)
            ours = {r["radius"]: r for r in json.loads(out.stdout.strip().splitlines()[-1])}
            step = max(n // args.queries, 1)
            queries = db[[i * step for i in range(min(args.queries, n))]]
            flat = faiss.IndexBinaryFlat(bits)
            flat.add(db)
            # As many hash tables as hashlens's substrings, each as wide (FAISS keys at most 64 bits).
            m = next(iter(ours.values()))["substrings"]
            t = time.perf_counter()
            mih = faiss.IndexBinaryMultiHash(bits, m, bits // m)
            mih.add(db)
            build_s = time.perf_counter() - t
            for r in radii:
                mh_ms, mh_found = faiss_range(mih, queries, r, nflip=r // m)
                fl_ms, fl_found = faiss_range(flat, queries, r)
                h = ours[r]
                expected = round(h["mean_results"] * len(queries))
                rows.append({
                    "n": n, "bits": bits, "radius": r, "substrings": m,
                    "hashlens_build_s": h["build_s"], "faiss_multihash_build_s": build_s,
                    "mean_results": h["mean_results"],
                    "hashlens_scan_ms": h["scan_median_ms"], "hashlens_multi_index_ms": h["multi_index_median_ms"],
                    "faiss_flat_ms": fl_ms, "faiss_multihash_ms": mh_ms,
                    "multi_index_vs_scan": h["scan_median_ms"] / h["multi_index_median_ms"],
                    "multi_index_vs_faiss_multihash": mh_ms / h["multi_index_median_ms"],
                    "same_counts": fl_found == expected and mh_found == expected,
                })
            del db, flat, mih

    print(f"FAISS {faiss.__version__}; medians of {args.queries} queries, one thread; ms")
    print(f"{'codes':>16} {'r':>2} {'results':>8} {'scan':>8} {'MIH':>8} {'FAISS flat':>10} "
          f"{'FAISS MH':>9} {'MIH/scan':>9} {'vs FAISS MH':>11} same")
    for r in rows:
        print(f"{r['n']:>10,} × {r['bits']:<3} {r['radius']:>2} {r['mean_results']:>8.1f} "
              f"{r['hashlens_scan_ms']:>8.3f} {r['hashlens_multi_index_ms']:>8.3f} {r['faiss_flat_ms']:>10.3f} "
              f"{r['faiss_multihash_ms']:>9.3f} {r['multi_index_vs_scan']:>8.1f}× "
              f"{r['multi_index_vs_faiss_multihash']:>10.1f}× {r['same_counts']}")
    print(json.dumps(rows))
    if not all(r["same_counts"] for r in rows):
        sys.exit("FAISS and hashlens found different numbers of neighbours")


if __name__ == "__main__":
    main()
