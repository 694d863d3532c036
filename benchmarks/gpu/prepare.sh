#!/usr/bin/env bash
# Run HERE (no GPU needed): builds and packs what a GPU session carries to the device machine.
# Writes .gpu/ (the stripped, xz-packed release binary without embedded weights), .gpu-data/ (the
# CIFAR-10 JPEGs) and .gl/ (the Vulkan/GL loader packages wgpu needs there), all git-ignored. With the
# tracked files (33 MB of weights among them) a call carries at most 64 MiB, so the binary and the data
# travel in two calls (README.md).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
cargo build --release -p hashlens --no-default-features
rm -rf .gpu && mkdir -p .gpu
strip -o .gpu/hashlens target/release/hashlens
xz -T2 -6 -f .gpu/hashlens
mkdir -p .gpu-data
cp -f ../shared/data/cifar10-jpg.tar.gz .gpu-data/
if ! ls .gl/*.deb >/dev/null 2>&1; then
    mkdir -p .gl /tmp/amd64/partial
    o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
    apt-get $o update
    (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
du -sh . --exclude=target --exclude=.git --exclude=.gpu --exclude=.gpu-data --exclude=.gl
du -ch .gpu/* .gl/* | tail -1        # carried by the first call, with the tree above
du -ch .gpu-data/* | tail -1         # carried by the second
