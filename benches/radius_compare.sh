#!/usr/bin/env bash
# Radius search: hashlens (multi-index hashing, exact scan) against FAISS (IndexBinaryMultiHash,
# IndexBinaryFlat) on the same random codes, in one run, one thread.
#
#   benches/radius_compare.sh                              # 1M and 10M codes × 64 and 128 bits, radius 0–8
#   benches/radius_compare.sh --sizes 1000000x64 --radius 0,2,4
#
# Installs faiss-cpu and numpy into target/bench-venv with pip, builds hashlens in release mode, then runs
# benches/radius_compare.py, which prints a table with the ratios and checks that every tool finds the
# same number of neighbours (hashlens itself checks its two ways give identical lists).
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lib.sh
bench_setup faiss numpy -- faiss-cpu numpy
exec "$venv/bin/python" benches/radius_compare.py --hashlens target/release/hashlens "$@"
