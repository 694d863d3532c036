#!/usr/bin/env bash
# Makes the shipped reference models again (core/src/model/reference.rs):
#   PCA + ITQ on MobileNetV2's ImageNet features of 2,000 CIFAR-10 training photos (the first 200 of each
#   class), at 16, 32, 64 and 128 bits, each calibrated on 15 everyday edits of 200 CIFAR-10 test photos
#   upscaled to 256 px (`hashlens bench edits --save-calibrated`; at 16 bits no threshold keeps precision
#   0.99, so that one ships uncalibrated);
# and the edit whitening the default's codes for finding copies are fitted after
# (edit-whitening-mobilenet_v2.bin: learned from the fifteen edits of 400 CIFAR-10 training photos at
# 256 px, its largest 256 eigenpairs kept, shrink 1; `hashlens bench edits --save-edit-whitening`, which
# measures it on the edit photos as it goes).
#
#   assets/models/make-reference.sh CIFAR10_JPG_DIR EDIT_PHOTOS_DIR WHITENING_PHOTOS_DIR [HASHLENS]
#
# CIFAR10_JPG_DIR: ../shared/data/cifar10-jpg.tar.gz unpacked (train/<class>/NNNN.jpg);
# EDIT_PHOTOS_DIR: 200 test photos at 256 px in class folders (what `benches/encode_compare.sh` makes as
# target/bench-photos/cifar-test-256). WHITENING_PHOTOS_DIR: 400 *training* photos made the same way
# (the first 40 of each class, upscaled to 256 × 256, bicubic, JPEG quality 92), none of the edit
# photos. The descriptions the models and the whitening carry name the folder they were made from,
# hence the names below.
set -euo pipefail
cifar=$1 edits=$2 whitening=$3 hashlens=${4:-target/release/hashlens}
out=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
set_dir="$work/the CIFAR-10 training set"
for class in "$cifar"/train/*/; do
  name=$(basename "$class")
  mkdir -p "$set_dir/$name"
  find "$class" -maxdepth 1 -name '*.jpg' | sort | head -200 | xargs -I{} cp {} "$set_dir/$name/"
done
hashlens=$(realpath "$hashlens")
edits=$(realpath "$edits")
whiten_dir="$work/whitening/the CIFAR-10 training set at 256 px"
mkdir -p "$whiten_dir"
cp -r "$whitening"/* "$whiten_dir/"
"$hashlens" bench edits --data "$edits" --photos 200 --device cpu --edit-whitening-from "$whiten_dir" \
  --whitening-photos 400 --whitening-rank 256 --shrink 1 \
  --save-edit-whitening "$out/edit-whitening-mobilenet_v2.bin" --json | tail -1
cd "$work"
for bits in 16 32 64 128; do
  "$hashlens" index "the CIFAR-10 training set" --bits "$bits" --index "idx$bits/index.hlindex" --device cpu
  if [ "$bits" = 16 ]; then
    # No threshold keeps precision 0.99 at 16 bits: it ships as fitted, without a calibration.
    cp "idx$bits/index.hlindex.model" "$out/reference-pca-itq-$bits.model"
  else
    "$hashlens" bench edits --data "$edits" --model "idx$bits/index.hlindex.model" --device cpu \
      --save-calibrated "$out/reference-pca-itq-$bits.model" --json | tail -1
  fi
done
