#!/usr/bin/env bash
# Requantizes the cached SmolLM2-135M-Instruct Q4_1 GGUF into another llama.cpp type (default
# Q4_K_M) with llama.cpp's own llama-quantize, for testing and benchmarking the K-quant kernels:
#   scripts/requantize-model.sh [TYPE] [OUT]
#   (default OUT: ${TESSERA_CACHE:-~/.cache/tessera}/models/SmolLM2-135M-Instruct.TYPE.gguf)
# The result is lossy (Q4_1 weights requantized), but a real file of that type as llama.cpp
# writes it. llama-quantize is found in $LLAMA_CPP_BIN (default /tmp/build-cpu/bin, where the
# shared peers script builds it). Idempotent: prints the path and exits when OUT exists.
# The cache is outside git; never commit model files.
set -euo pipefail

type="${1:-Q4_K_M}"
cache="${TESSERA_CACHE:-$HOME/.cache/tessera}"
source="$cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"
target="${2:-$cache/models/SmolLM2-135M-Instruct.$type.gguf}"
bin="${LLAMA_CPP_BIN:-/tmp/build-cpu/bin}"

if [ -s "$target" ]; then
  echo "requantize-model: present: $target"
  exit 0
fi
if [ ! -x "$bin/llama-quantize" ]; then
  echo "requantize-model: llama-quantize not found in $bin (set LLAMA_CPP_BIN)" >&2
  exit 2
fi
if [ ! -s "$source" ]; then
  "$(dirname "$0")/fetch-model.sh"
fi
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! LD_LIBRARY_PATH="$bin" "$bin/llama-quantize" --allow-requantize "$source" "$target.partial" "$type" >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  exit 1
fi
mv "$target.partial" "$target"
echo "requantize-model: wrote $target"
