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
venv=target/bench-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check faiss-cpu numpy
fi
cargo build --release --quiet -p hashlens
exec "$venv/bin/python" benches/faiss_compare.py --hashlens target/release/hashlens "$@"
