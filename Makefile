# Tessera's commands. The README's quickstart is `make demo` then `make test`.
#
# Release builds target the host CPU (like llama.cpp's native builds): without a CPU flag, Swift
# compiles SIMD fused multiply-adds to calls to libm's fmaf (see DESIGN.md). The flag goes here,
# never into Package.swift, so the package stays usable as a dependency; debug builds and
# `make test` stay portable. Set NATIVE= to build a portable release binary. Release binaries
# link the Swift runtime and Foundation statically: they run where no Swift toolchain is (the
# GPU machines), and `tessera generate` holds about 6 MiB less resident memory than with the
# shared libraries (measured: 130 vs 137 MiB peak RSS for SmolLM2 on cpu).

SWIFT ?= swift
NATIVE ?= -Xswiftc -target-cpu -Xswiftc native -Xcc -march=native
RELEASE = $(SWIFT) build -c release --static-swift-stdlib $(NATIVE)
BIN = .build/release

.PHONY: help deps build demo test bench model format lint clean fuzz fuzz-build difftest test-asan test-tsan

help:
	@echo "make demo    install what is missing, build (release, host CPU), run the example and the SmolLM2 parity table on every usable device"
	@echo "make test    build and run the whole test suite (swift test)"
	@echo "make bench   run the benchmarks (release build) against their peers"
	@echo "make model   fetch SmolLM2-135M-Instruct (Q4_1 GGUF) into \$${TESSERA_CACHE:-~/.cache/tessera}"
	@echo "make format  format the sources with swift format; make lint checks without changing"
	@echo "make fuzz    fuzz the .tir, GGUF, .npy, NPU assembly and ONNX parsers (libFuzzer + ASan), FUZZ_SECONDS each (default 60)"
	@echo "make difftest N=100 SEED=0 DEVICES=all   random graphs on every usable device against the reference"
	@echo "make test-asan / make test-tsan   the test suite under AddressSanitizer / ThreadSanitizer (TEST_FILTER=… for a subset)"
	@echo "make deps    install the system packages (OpenCL/PoCL, Vulkan/lavapipe, spirv-tools, numpy, onnx, onnxruntime)"

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
	@echo "   (tok/s over the steady-state runs, after the first prefill and decode step; memory as each device counts it)"
	@$(BIN)/tessera parity --devices reference,cpu --steps 8 --report .build/parity.html

test:
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# The suite under a sanitizer, in its own build folder. TEST_FILTER narrows the run (a regex
# for `swift test --filter`). Swift's backtracer is off so the sanitizer's report is the one shown.
# ASan keeps off the alternate signal stack: the LLVM inside PoCL and lavapipe installs its own
# (malloc'ed) one on threads it runs on, and ASan then fails a CHECK unmapping it at thread exit.
TEST_FILTER ?=
SANITIZER_TEST = SWIFT_BACKTRACE=enable=no $(SWIFT) test --skip-build $(if $(TEST_FILTER),--filter '$(TEST_FILTER)')

test-asan:
	$(SWIFT) build --build-tests -Xswiftc -sanitize=address --scratch-path .build-asan
	ASAN_OPTIONS=detect_leaks=0:use_sigaltstack=0 $(SANITIZER_TEST) -Xswiftc -sanitize=address --scratch-path .build-asan

test-tsan:
	$(SWIFT) build --build-tests -Xswiftc -sanitize=thread --scratch-path .build-tsan
	TSAN_OPTIONS=halt_on_error=0 $(SANITIZER_TEST) -Xswiftc -sanitize=thread --scratch-path .build-tsan

bench:
	$(RELEASE) --product tessera-bench
	$(BIN)/tessera-bench reference
	$(BIN)/tessera-bench compile
	$(BIN)/tessera-bench gemm
	$(BIN)/tessera-bench quant
	$(BIN)/tessera-bench prefill
	$(BIN)/tessera-bench ops
	$(BIN)/tessera-bench llm

# Fuzzing: an ASan build with libFuzzer's coverage instrumentation and libFuzzer linked without
# its main (tessera-fuzz has subcommands; -sanitize=fuzzer would link libFuzzer's main, and
# ld.gold fails on it), so lld links it. Crashes land in .build-fuzz/crashes/TARGET/; replay one
# with `.build/debug/tessera-fuzz TARGET FILE` or the fuzz build.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = tir gguf npy npuasm onnx
FUZZER_LIB = $(firstword $(wildcard $(dir $(shell command -v $(SWIFT)))../lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-$(shell uname -m).a))
FUZZ_FLAGS = -Xswiftc -sanitize=address -Xswiftc -sanitize-coverage=edge,trace-cmp,inline-8bit-counters,pc-table \
	-Xswiftc -use-ld=lld -Xlinker $(FUZZER_LIB) -Xlinker --undefined=LLVMFuzzerRunDriver \
	-Xlinker --export-dynamic-symbol=LLVMFuzzerRunDriver -Xlinker -lstdc++
FUZZ_BIN = .build-fuzz/debug/tessera-fuzz

fuzz-build:
	@test -n "$(FUZZER_LIB)" || { echo "libclang_rt.fuzzer_no_main not found next to $(SWIFT)"; exit 1; }
	$(SWIFT) build -c debug --scratch-path .build-fuzz $(FUZZ_FLAGS) --product tessera-fuzz

fuzz: fuzz-build
	$(FUZZ_BIN) seeds .build-fuzz/seeds
	@for target in $(FUZZ_TARGETS); do \
	  mkdir -p .build-fuzz/corpus/$$target .build-fuzz/crashes/$$target; \
	  echo "== $$target ($(FUZZ_SECONDS) s)"; \
	  SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 $(FUZZ_BIN) $$target -max_total_time=$(FUZZ_SECONDS) \
	    -max_len=65536 -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
	    -artifact_prefix=.build-fuzz/crashes/$$target/ .build-fuzz/corpus/$$target .build-fuzz/seeds/$$target \
	    || exit 1; \
	done

# Differential testing: N seeded random graphs on every usable device against the reference
# evaluator; a mismatch is minimised and written to .build/difftest/ with a `tessera run` line.
N ?= 100
SEED ?= 0
DEVICES ?= all
difftest:
	$(SWIFT) build --product tessera-difftest
	.build/debug/tessera-difftest --count $(N) --seed $(SEED) --devices $(DEVICES)

model:
	@bash scripts/fetch-model.sh

format:
	$(SWIFT) format --in-place --recursive Package.swift Sources Tests Kernels Benchmarks

lint:
	$(SWIFT) format lint --recursive Sources Tests Kernels Benchmarks

clean:
	rm -rf .build
