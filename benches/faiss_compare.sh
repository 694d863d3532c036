#!/usr/bin/env bash
# Exact Hamming top-k: hashlens against FAISS IndexBinaryFlat on the same random codes, in one run.
#
#   benches/faiss_compare.sh                 # 1M × 64 and 1M × 128 bits, k = 100, 1 thread
#   benches/faiss_compare.sh --big           # adds 10M × 64 bits
#
# Installs faiss-cpu and numpy into target/bench-venv with pip, builds hashlens in release mode, then runs
# benches/faiss_compare.py, which prints a table with the ratios and checks that both tools return
# neighbours at the same distances.
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lib.sh
bench_setup faiss numpy -- faiss-cpu numpy
exec "$venv/bin/python" benches/faiss_compare.py --hashlens target/release/hashlens "$@"
