#!/usr/bin/env bash
# Tessera's device checks on a machine with a GPU and no Swift toolchain, from a bundle made by
# scripts/gpu-bundle.sh. Run from the repository root (the examples are read from it).
#
#   scripts/gpu-check.sh setup BUNDLE   unpack the loader packages into /, copy the binaries and the
#                                       model parts found in BUNDLE to $STATE (default /tmp/tessera-gpu)
#   scripts/gpu-check.sh kernels        devices, the example graph and random graphs on every device
#                                       against the reference, SGEMM on Vulkan and OpenCL (the staged
#                                       matmul, its share of PEAK_GFLOPS, its tilings searched), and the
#                                       same products through PyTorch (scripts/cublas-sgemm.py) when there
#   scripts/gpu-check.sh model          SmolLM2 parity and LLM tok/s on cpu, opencl and vulkan; needs
#                                       every model part (setup can be run twice, with the parts split
#                                       over two bundles), and llama-bench as a peer if LLAMA_BENCH is set.
#                                       A bare `opencl` is the first GPU (see `tessera devices`)
#
# Every step runs under a time limit (STEP_SECONDS, default 150) and prints its exit status.
set -uo pipefail
state=${STATE:-/tmp/tessera-gpu}
bin=$state/bin
export TESSERA_CACHE=$state/cache
export PATH=$bin:$PATH

# NVIDIA's Vulkan manifest and OpenCL library may sit outside the loaders' search paths.
driver_paths() {
  local manifest opencl folder
  for folder in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
    [ -d "$folder" ] && export LD_LIBRARY_PATH=$folder${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  done
  manifest=$(find /usr/local/nvidia /usr/share/vulkan /etc/vulkan -name 'nvidia_icd*.json' 2>/dev/null | head -1)
  [ -n "$manifest" ] && export VK_DRIVER_FILES=$manifest VK_ICD_FILENAMES=$manifest
  opencl=$(find /usr/local/nvidia /usr/lib /usr/lib64 -name 'libnvidia-opencl.so*' 2>/dev/null | head -1)
  if [ -n "$opencl" ] && ! ls /etc/OpenCL/vendors/*.icd >/dev/null 2>&1; then
    mkdir -p "$state/icd" && echo "$opencl" >"$state/icd/nvidia.icd"
    export OCL_ICD_VENDORS=$state/icd
  fi
  echo "vulkan manifest: ${manifest:-none found}; opencl library: ${opencl:-none found}"
  ldconfig -p | grep -E 'libvulkan|libOpenCL|GLX_nvidia' | sed 's/^/  /'
}

step() {
  echo
  echo "== $*"
  local start=$SECONDS
  timeout "${STEP_SECONDS:-150}" "$@"
  echo "-- exit $? after $((SECONDS - start)) s"
}

setup() {
  local bundle=$1
  for package in "$bundle"/debs/*.deb; do [ -f "$package" ] && dpkg -x "$package" /; done
  ldconfig
  mkdir -p "$bin" "$state/parts" "$TESSERA_CACHE/models"
  [ -f "$bundle/bin.tar.xz" ] && tar -C "$state" -xJf "$bundle/bin.tar.xz"
  [ -d "$bundle/model" ] && cp "$bundle"/model/* "$state/parts/"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1
  lscpu | grep -E '^(Model name|CPU\(s\)|L3)' 2>&1
  ls -la "$bin" "$state/parts"
}

kernels() {
  driver_paths
  step tessera devices
  step tessera run examples/mlp.tir --device all --random-inputs 0
  step tessera-difftest --count 200 --devices all --out "$state/difftest"
  # The staged matmul at each size as a share of the FP32 peak (PEAK_GFLOPS: e.g. 66900 for an
  # H100 SXM), then its tilings searched on the GPU (printed, not kept).
  for api in vulkan opencl; do
    step tessera-bench gemm --device "$api" --sizes 1024,2048,4096 ${PEAK_GFLOPS:+--peak-gflops "$PEAK_GFLOPS"}
  done
  step tessera tune --device vulkan:0 --family staged --products 2048x2048x2048 --dry-run
  step python3 scripts/cublas-sgemm.py 1024 2048 4096
}

model() {
  driver_paths
  local file=$TESSERA_CACHE/models/SmolLM2-135M-Instruct.Q4_1.gguf
  cat "$state"/parts/part.* >"$file"
  if [ "$(sha256sum "$file" | cut -d' ' -f1)" != "$(cat "$state/parts/sha256" 2>/dev/null)" ]; then
    echo "model incomplete: the parts in $state/parts do not join to the bundled checksum"
    return 1
  fi
  step tessera parity --devices cpu,opencl,vulkan --steps "${STEPS:-8}"
  step tessera-bench llm --devices vulkan,opencl,cpu --prefill 128 --decode 64 --threads "$(nproc)"
  if [ -n "${LLAMA_BENCH:-}" ]; then
    step "$LLAMA_BENCH" -m "$file" -ngl 99 -p 128 -n 64 -r 3
  fi
}

case "${1:-}" in
  setup) setup "${2:?setup needs the bundle folder}" ;;
  kernels) kernels ;;
  model) model ;;
  *)
    sed -n '2,15p' "$0"
    exit 2
    ;;
esac
