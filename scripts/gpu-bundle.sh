#!/usr/bin/env bash
# Packs what scripts/gpu-check.sh needs on a machine that has a GPU but no Swift toolchain into
# one folder (default .device/, which .gitignore keeps out of git; name its parts in `carry`):
#   bin.tar.xz  tessera, tessera-bench and tessera-difftest: release builds with the Swift runtime
#           linked statically, for a portable CPU level (CPU=haswell: AVX2 and FMA), stripped and
#           compressed together (the three share most of their bytes: 18 MB instead of 3 x 61)
#   debs/   Debian's Vulkan loader and OpenCL ICD loader, and the GL vendor-neutral libraries
#           that NVIDIA's Vulkan driver loads; gpu-check.sh unpacks them there
#   model/  the cached SmolLM2 GGUF split into parts of PART bytes (default 40M), when it is cached,
#           so that a size limit on what one transfer carries can be met over two
# Usage: scripts/gpu-bundle.sh [DEST]
set -euo pipefail
dest=${1:-.device}
cpu=${CPU:-haswell}
part=${PART:-40M}

swift build -c release --static-swift-stdlib --scratch-path .build-static \
  -Xswiftc -target-cpu -Xswiftc "$cpu" -Xcc -march="$cpu"
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
mkdir -p "$staging/bin" "$dest/debs"
for product in tessera tessera-bench tessera-difftest; do
  strip -o "$staging/bin/$product" ".build-static/release/$product"
done
tar -C "$staging" -cf - bin | xz -T0 --lzma2=preset=6,dict=256MiB >"$dest/bin.tar.xz"
(cd "$dest/debs" && apt-get download libvulkan1 ocl-icd-libopencl1 libglvnd0 libgl1 libglx0 libegl1 libopengl0 \
  libgles2 2>/dev/null)

model="${TESSERA_CACHE:-$HOME/.cache/tessera}/models/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ -f "$model" ]; then
  rm -rf "$dest/model" && mkdir -p "$dest/model"
  split -b "$part" "$model" "$dest/model/part."
  sha256sum "$model" | cut -d' ' -f1 >"$dest/model/sha256"
else
  echo "gpu-bundle: no cached model at $model (make model); the check runs without it"
fi
du -sh "$dest"/*
