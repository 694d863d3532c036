#!/usr/bin/env bash
# Run ON THE DEVICE MACHINE through the `device` tool (see README.md):
#   benchmarks/gpu/device.sh STEP [extra hashlens arguments…]
# Whatever a call carries (.gl, .gpu, .gpu-data) is unpacked; the steps after `setup` need the binary and
# the data unpacked by earlier calls on the same warm machine.
# Everything lives in /tmp/hl, which survives between calls while the machine stays warm, so a long
# training run continues across calls through its checkpoint. Results are copied to $OUT.
set -uo pipefail
step="${1:?step: setup | data | step | train | eval | bench | compare}"; shift
if ls .gl/*.deb >/dev/null 2>&1; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
fi
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export HASHLENS_MODELS_DIR="$PWD/assets/models"
w=/tmp/hl
mkdir -p "$w"
if [ -f .gpu/hashlens.xz ]; then xz -dc .gpu/hashlens.xz >"$w/hashlens" && chmod +x "$w/hashlens"; fi
if [ -f .gpu-data/cifar10-jpg.tar.gz ]; then
    rm -rf "$w/cifar" && mkdir -p "$w/cifar" && tar xzf .gpu-data/cifar10-jpg.tar.gz -C "$w/cifar"
fi
[ -x "$w/hashlens" ] || { echo "no binary in $w: run setup carrying .gpu and .gl first" >&2; exit 2; }
if [ "$step" != setup ] && [ ! -d "$w/cifar/train" ]; then
    echo "no data in $w: carry .gpu-data (this call or an earlier one)" >&2
    exit 2
fi
hl="$w/hashlens"
device="${DEVICE:-gpu}"   # or cpu, for a comparison on the machine's 16 cores
bits="${BITS:-64}"
model="$w/dhd-$bits-$device.hlmodel"
# Stop cleanly (checkpoint written) before the tool's 10-minute limit.
budget="${BUDGET:-540}"
case "$step" in
data)
    ls "$w/cifar"
    ;;
setup)
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
    "$hl" inspect --device "$device" assets/demo/chelsea.jpg
    ;;
step)
    # The training step against its forward pass, depthwise gradients by taps and by Burn: run first.
    "$hl" bench step --data "$w/cifar/train" --batch "${BATCH:-128}" --steps 10 --device "$device" "$@" \
        | tee "$OUT/step-$device.md"
    ;;
train)
    resume=()
    [ -f "$model.ckpt" ] && resume=(--resume "$model.ckpt")
    timeout --foreground -s INT "$budget" "$hl" train --data "$w/cifar" --protocol cifar10 --seed 0 \
        --bits "$bits" --epochs "${EPOCHS:-40}" --batch "${BATCH:-128}" --keep-side 32 --device "$device" \
        --out "$model" "${resume[@]}" "$@" 2>&1 | tee -a "$w/train-$bits-$device.log"
    cp -f "$w/train-$bits-$device.log" "$OUT/" 2>/dev/null
    ;;
eval)
    "$hl" eval --model "$model" --data "$w/cifar" --protocol cifar10 --seed 0 --device "$device" \
        --json "$@" | tee "$OUT/eval-$bits-$device.json"
    cp -f "$model" "$OUT/" 2>/dev/null
    ;;
bench)
    "$hl" bench encode --data "$w/cifar/test" --images 5000 --device "$device" "$@" | tee "$OUT/bench-$device.txt"
    ;;
compare)
    timeout --foreground -s INT "$budget" "$hl" compare --data "$w/cifar" --protocol cifar10 --seed 0 \
        --mode full --device "$device" --out "$OUT/compare-full.json" "$@" | tee "$OUT/compare-full.md"
    ;;
*)
    echo "unknown step $step" >&2
    exit 2
    ;;
esac
