#!/usr/bin/env bash
# Installs the system packages Tessera's GPU-style targets and tests use, when they are missing:
#   OpenCL: the ICD loader (libOpenCL.so.1), its headers, and PoCL (an OpenCL driver for the CPU);
#     CLBlast (libclblast1), the SGEMM peer `tessera-bench opencl` opens with dlopen
#   Vulkan: the loader (libvulkan.so.1), its headers, and Mesa's lavapipe (a Vulkan driver for the CPU)
#   spirv-tools: spirv-val, used by tests to validate the SPIR-V Tessera emits
#   numpy (PyPI, user site): an independent oracle some tests compare with
#   gguf (PyPI, user site): gguf-py, whose numpy `dequantize` the GGUF block-format tests compare with
#   onnx and onnxruntime (PyPI, user site): ONNX's own node tests and models built with onnx.helper,
#     run by onnxruntime, for the ONNX importer's tests (scripts/onnx-test-data.py)
# Nothing here is required to build: without these, the OpenCL/Vulkan devices show as unavailable
# and their tests are skipped with the reason. Idempotent: it does nothing when all is present.
# Runs apt-get through sudo when not root; prints the commands when it cannot run them.
set -euo pipefail

packages=(ocl-icd-libopencl1 ocl-icd-opencl-dev opencl-c-headers pocl-opencl-icd libclblast1
  libvulkan1 libvulkan-dev mesa-vulkan-drivers spirv-tools)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-system-deps: system packages present (${#packages[@]} checked)"
else
  if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"; else sudo="none"; fi
  if [ "$sudo" = "none" ] || ! command -v apt-get >/dev/null; then
    echo "install-system-deps: cannot install as this user; please run:"
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
  else
    echo "install-system-deps: installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

if command -v python3 >/dev/null; then
  if python3 -c "import numpy" 2>/dev/null; then
    echo "install-system-deps: numpy present"
  else
    echo "install-system-deps: installing numpy from PyPI"
    python3 -m pip install -q --user numpy 2>/dev/null || python3 -m pip install -q --break-system-packages --user numpy \
      || echo "install-system-deps: numpy could not be installed; numpy cross-checks will be skipped"
  fi
  if python3 -c "import gguf" 2>/dev/null; then
    echo "install-system-deps: gguf present"
  else
    echo "install-system-deps: installing gguf (gguf-py) from PyPI"
    python3 -m pip install -q --user gguf 2>/dev/null || python3 -m pip install -q --break-system-packages --user gguf \
      || echo "install-system-deps: gguf could not be installed; the gguf-py block-format comparison will be skipped"
  fi
  if python3 -c "import onnx, onnxruntime" 2>/dev/null; then
    echo "install-system-deps: onnx and onnxruntime present"
  else
    echo "install-system-deps: installing onnx and onnxruntime from PyPI"
    python3 -m pip install -q --user onnx onnxruntime 2>/dev/null \
      || python3 -m pip install -q --break-system-packages --user onnx onnxruntime \
      || echo "install-system-deps: onnx/onnxruntime could not be installed; the ONNX comparison tests will be skipped"
  fi
fi
