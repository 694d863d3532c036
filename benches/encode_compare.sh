#!/usr/bin/env bash
# Photos to features on the CPU: hashlens against Pillow + ONNX Runtime on the same photos and cores, in one
# run (`benches/encode_compare.py` says what each side does).
#
#   benches/encode_compare.sh                     # 512 CIFAR-10 JPEGs and 200 camera-sized JPEGs, 3 runs each
#   benches/encode_compare.sh --data DIR [...]    # one folder (arguments go to encode_compare.py)
#
# Installs onnx, onnxruntime, pillow and numpy into target/bench-venv with pip, builds hashlens in release
# mode, unpacks the CIFAR-10 JPEGs from ../shared/data and makes the camera-sized photos (never
# committed) under target/bench-photos.
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lib.sh
bench_setup onnx onnxruntime PIL numpy -- onnx onnxruntime pillow numpy
if [ $# -gt 0 ]; then
  exec "$venv/bin/python" benches/encode_compare.py "$@"
fi
photos=target/bench-photos
if [ ! -d "$photos/cifar" ]; then
  mkdir -p "$photos/cifar"
  tar -xzf ../shared/data/cifar10-jpg.tar.gz -C "$photos/cifar"
fi
if [ ! -d "$photos/camera" ]; then
  "$venv/bin/python" benches/make_camera_photos.py --from "$photos/cifar" --out "$photos/camera" --count 200
fi
# Shared machines are noisy: each comparison runs RUNS times (default 3), hashlens and Python back to back
# every time, so that each run's ratio compares the two under the same conditions.
mkdir -p benchmarks/results/encode
for run in $(seq 1 "${RUNS:-3}"); do
  "$venv/bin/python" benches/encode_compare.py --data "$photos/cifar" --images 512 \
    --label "CIFAR-10 JPEGs (32 px)" --json "benchmarks/results/encode/cifar-cpu-run$run.json"
  "$venv/bin/python" benches/encode_compare.py --data "$photos/camera" --images 200 \
    --label "camera-sized JPEGs (4032×3024, quality 92)" --json "benchmarks/results/encode/camera-cpu-run$run.json"
done
