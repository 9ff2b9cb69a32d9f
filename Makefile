# Tessera's commands. The README's quickstart is `make demo` then `make test`.
#
# Release builds target the host CPU (like llama.cpp's native builds): without a CPU flag, Swift
# compiles SIMD fused multiply-adds to calls to libm's fmaf (see DESIGN.md). The flag goes here,
# never into Package.swift, so the package stays usable as a dependency; debug builds and
# `make test` stay portable. Set NATIVE= to build a portable release binary.

SWIFT ?= swift
NATIVE ?= -Xswiftc -target-cpu -Xswiftc native -Xcc -march=native
RELEASE = $(SWIFT) build -c release $(NATIVE)
BIN = .build/release

.PHONY: help deps build demo test bench model format lint clean

help:
	@echo "make demo    install what is missing, build (release, host CPU), run the example and the SmolLM2 parity table on every usable device"
	@echo "make test    build and run the whole test suite (swift test)"
	@echo "make bench   run the benchmarks (release build) against their peers"
	@echo "make model   fetch SmolLM2-135M-Instruct (Q4_1 GGUF) into \$${TESSERA_CACHE:-~/.cache/tessera}"
	@echo "make format  format the sources with swift format; make lint checks without changing"
	@echo "make deps    install the system packages (OpenCL/PoCL, Vulkan/lavapipe, spirv-tools, numpy)"

deps:
	@bash scripts/install-system-deps.sh

build:
	$(RELEASE) --product tessera

demo: deps build model
	@echo "== devices"
	@$(BIN)/tessera devices
	@echo
	@echo "== examples/mlp.tir on every usable device, seeded random inputs"
	@$(BIN)/tessera run examples/mlp.tir --device all --random-inputs 0
	@echo
	@echo "== SmolLM2-135M-Instruct (Q4_1): greedy tokens on reference and cpu, compared step by step"
	@echo "   (every device: tessera parity --devices all; OpenCL/Vulkan on a CPU driver and the NPU emulator take minutes)"
	@$(BIN)/tessera parity --devices reference,cpu --steps 4 --report .build/parity.html

test:
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

bench:
	$(RELEASE) --product tessera-bench
	$(BIN)/tessera-bench reference
	$(BIN)/tessera-bench compile
	$(BIN)/tessera-bench gemm
	$(BIN)/tessera-bench quant
	$(BIN)/tessera-bench ops
	$(BIN)/tessera-bench llm

model:
	@bash scripts/fetch-model.sh

format:
	$(SWIFT) format --in-place --recursive Package.swift Sources Tests Kernels Benchmarks

lint:
	$(SWIFT) format lint --recursive Sources Tests Kernels Benchmarks

clean:
	rm -rf .build
