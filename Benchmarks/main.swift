import Foundation
import Tessera

// tessera-bench: speed measured against a peer in the same run where a peer exists, never
// asserted in tests.

let usage = """
  tessera-bench — Tessera's benchmarks, each reported as a ratio to a peer measured in the same run
  where one exists.

  USAGE: tessera-bench <suite> [options]

  SUITES:
    reference   matmul on the reference evaluator (the oracle) vs numpy; --sizes 128,256,512
    compile     graph-compiler time for a stack of transformer blocks (--layers 30), and for
                SmolLM2-135M's prefill (128 tokens) and decode graphs when the model is cached
    gemm        cpu SGEMM vs numpy/OpenBLAS at 1 and 2 threads; --sizes 256,512,1024,2048 (square), or
              --shapes MxNxK,… (C m×n, depth k; e.g. BERT's 128x1024x256); with --device opencl|vulkan,
              SGEMM on that device (--sizes, default 1024,2048,4096) vs CLBlast on the same OpenCL
              device and as a share of FP32 peak (--peak-gflops N, or the CPU's on PoCL/lavapipe)
    quant       cpu Q4_0/Q4_1/Q8_0 matvec GB/s at LLM shapes (GGUF layout and q4 tiles) and over the
                SmolLM2-135M decode matrices (out of cache) vs numpy streaming the same bytes on as
                many threads
    prefill     cpu quantized matmuls of one SmolLM2-135M layer at prefill shape (--rows 128
                activation rows), GFLOP/s in each mode vs numpy/OpenBLAS on the same f32 shapes
    shared      SmolLM2-135M's decode matrices as one cpu graph, q/k/v and gate/up sharing their
                activation (one step each) vs each matmul reading its own copy, same run
    ops         a fused kernel on the cpu device vs the KIR interpreter
    opencl      SGEMM on the first OpenCL device vs CLBlast and the reference; dispatch overhead;
                program build time cold and from the disk cache; --size 1024
    npu         GEMM on the NPU cycle model (1024^3 utilisation, size sweep, roofline SVG;
                --svg FILE, default npu-roofline.svg) and the emulator's speed; then a GGUF
                model's modelled prefill and decode (cycles/token, unit busy, GM bytes/token):
                --model (default: the cached SmolLM2, skipped when absent), --prefill 16,
                --decode 4, --no-model
    vulkan      SGEMM on the first Vulkan device vs the reference evaluator, dispatch overhead,
                pipeline creation cold vs cached; --size 1024
    llm         prefill/decode tok/s of a GGUF model on each device vs llama-bench; --model, --devices,
                --prefill 128, --decode 64 (default model: the cached SmolLM2), --rounds N (peer and
                devices measured N times over, each round's ratios and their medians at the end)
    onnx        latency of an ONNX model (tessera-bench onnx MODEL.onnx) on cpu at each --threads count
                vs onnxruntime (CPU provider, same thread count), then on --devices A,B; symbolic
                dims fixed with --input-shape NAME=D0,D1,… (repeatable); the profile that follows
                lists the --steps N slowest steps (default 15); scripts/onnx-resnet18.py writes a
                ResNet-18-shaped model

  OPTIONS:
    --sizes A,B,…   square matmul sizes (reference; default 128,256,512)
    --layers N      transformer blocks (compile; default 30)
    --size N        square SGEMM size (opencl, vulkan; default 1024)
    --device D      gemm on opencl or vulkan instead of the cpu device
    --peak-gflops N the device's FP32 peak, for gemm --device's share of it
    --staged        gemm --device on the staged (shared-memory) kernel even where the driver runs on
                    the CPU (PoCL, lavapipe keep the register-blocked one)
    --repeat N      timed runs, best kept (default 3)
    --threads A,B   thread counts (gemm, quant, prefill, ops, llm's cpu device and llama-bench; default 1,2)
    --json FILE     also write the rows as JSON (gemm, quant, prefill, shared, ops)
    --html FILE     also write an HTML report with SVG charts (gemm, quant, prefill, shared, ops)
    --help          show this help
  """

func option(_ name: String, in arguments: [String]) -> String? {
  arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
}

func fail(_ message: String) -> Never {
  FileHandle.standardError.write(Data("error: \(message)\n".utf8))
  exit(2)
}

/// The positive integer option `name` (`fallback` when absent); a bad value is an error line.
func positiveInteger(_ name: String, default fallback: Int, in arguments: [String]) -> Int {
  let text = option(name, in: arguments) ?? String(fallback)
  guard let value = Int(text), value > 0 else { fail("\(name) expects a positive integer, found '\(text)'") }
  return value
}

/// The comma-separated positive integers of option `name` (`fallback` when absent).
func positiveIntegers(_ name: String, default fallback: String, in arguments: [String]) -> [Int] {
  let text = option(name, in: arguments) ?? fallback
  let values = text.split(separator: ",").map { Int($0) ?? 0 }
  guard !values.isEmpty, values.allSatisfy({ $0 > 0 }) else {
    fail("\(name) expects positive integers, found '\(text)'")
  }
  return values
}

/// `--shapes`' `MxNxK` list (e.g. `128x1024x256,128x128x64`); a malformed entry exits with an
/// error naming it.
func gemmShapes(_ text: String) -> [GEMMShape] {
  text.split(separator: ",").map { entry in
    let dims = entry.split(separator: "x").map { Int($0) ?? 0 }
    guard dims.count == 3, dims.allSatisfy({ $0 > 0 }) else {
      fail("--shapes expects MxNxK entries of positive integers (e.g. 128x1024x256), found '\(entry)'")
    }
    return GEMMShape(m: dims[0], n: dims[1], k: dims[2])
  }
}

/// `c = a · b` for `size`² f32 arguments `a` and `b`: the SGEMM the device benchmarks time.
func sgemmGraph(_ size: Int) throws -> Graph {
  let builder = GraphBuilder(name: "sgemm")
  let a = builder.argument("a", .f32, [size, size])
  let b = builder.argument("b", .f32, [size, size])
  return try builder.finish(returning: [builder.matmul(a, b)])
}

/// The best wall time of `repeats` runs of `body`, in seconds.
func bestTime(_ repeats: Int, _ body: () throws -> Void) rethrows -> Double {
  var best = Double.infinity
  for _ in 0..<repeats {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
  }
  return best
}

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.isEmpty || arguments.contains("--help") {
  print(usage)
  exit(arguments.isEmpty ? 2 : 0)
}
let repeats = positiveInteger("--repeat", default: 3, in: arguments)
// A failure (a bad model, an unusable device) is an error line and exit code 2, as in `tessera`.
do {
  switch arguments[0] {
  case "reference":
    let sizes = positiveIntegers("--sizes", default: "128,256,512", in: arguments)
    try ReferenceBenchmark.run(sizes: sizes, repeats: repeats)
  case "compile":
    try CompileBenchmark.run(layers: positiveInteger("--layers", default: 30, in: arguments), repeats: repeats)
  case "gemm" where option("--device", in: arguments) != nil:
    let kind = option("--device", in: arguments)!
    guard ["opencl", "vulkan"].contains(kind) else { fail("--device expects opencl or vulkan, found '\(kind)'") }
    let peak = option("--peak-gflops", in: arguments).map { text -> Double in
      guard let value = Double(text), value > 0 else {
        fail("--peak-gflops expects a positive number, found '\(text)'")
      }
      return value
    }
    try DeviceGEMMBenchmark.run(
      kind: kind, sizes: positiveIntegers("--sizes", default: "1024,2048,4096", in: arguments), peakGFLOPS: peak,
      repeats: repeats, staged: arguments.contains("--staged"))
  case "gemm", "quant", "prefill", "shared", "ops":
    let threads = threadCounts(arguments)
    let rows: [CPUBenchmark.Row]
    switch arguments[0] {
    case "gemm":
      let shapes =
        option("--shapes", in: arguments).map { gemmShapes($0) }
        ?? positiveIntegers("--sizes", default: "256,512,1024,2048", in: arguments).map {
          GEMMShape(m: $0, n: $0, k: $0)
        }
      rows = CPUBenchmark.gemm(shapes: shapes, threads: threads, repeats: repeats)
    case "quant": rows = CPUBenchmark.quant(threads: threads, repeats: repeats)
    case "prefill":
      let rowCount = positiveInteger("--rows", default: 128, in: arguments)
      rows = CPUBenchmark.prefill(rows: rowCount, threads: threads, repeats: repeats)
    case "shared": rows = try SharedActivationBenchmark.run(threads: threads, repeats: repeats)
    default: rows = try CPUBenchmark.ops(threads: threads, repeats: repeats)
    }
    if let path = option("--json", in: arguments) { try CPUBenchmark.write(rows, to: path) }
    if let path = option("--html", in: arguments) {
      try HTMLReport.write(rows, title: "tessera-bench \(arguments[0])", to: path)
      print("wrote \(path)")
    }
  case "opencl":
    try OpenCLBenchmark.run(size: positiveInteger("--size", default: 1024, in: arguments), repeats: repeats)
  case "npu":
    try NPUBenchmark.run(svgPath: option("--svg", in: arguments) ?? "npu-roofline.svg", repeats: repeats)
    let prefill = positiveInteger("--prefill", default: 16, in: arguments)
    let decode = positiveInteger("--decode", default: 4, in: arguments)
    if arguments.contains("--no-model") { break }
    if let path = option("--model", in: arguments) ?? ModelCache.defaultModelIfPresent {
      try NPUModelBenchmark.run(modelPath: path, prefill: prefill, decode: decode)
    } else {
      print("model skipped: no model at \(ModelCache.defaultModelPath) (run 'make model' or pass --model GGUF)")
    }
  case "vulkan":
    try VulkanBenchmark.run(size: positiveInteger("--size", default: 1024, in: arguments), repeats: repeats)
  case "llm":
    let prefill = positiveInteger("--prefill", default: 128, in: arguments)
    let decode = positiveInteger("--decode", default: 64, in: arguments)
    try LLMBenchmark.run(
      modelPath: option("--model", in: arguments),
      deviceNames: option("--devices", in: arguments).map { $0.split(separator: ",").map(String.init) },
      prefill: prefill, decode: decode, threads: threadCounts(arguments),
      rounds: positiveInteger("--rounds", default: 1, in: arguments))
  case "onnx":
    guard arguments.count >= 2, !arguments[1].hasPrefix("--") else {
      fail("onnx expects a model: tessera-bench onnx MODEL.onnx")
    }
    var shapes: [String: [Int]] = [:]
    for (index, argument) in arguments.enumerated() where argument == "--input-shape" && index + 1 < arguments.count {
      let parts = arguments[index + 1].split(separator: "=", maxSplits: 1).map(String.init)
      let dims = parts.count == 2 ? parts[1].split(separator: ",").map { Int($0) ?? -1 } : [-1]
      guard parts.count == 2, dims.allSatisfy({ $0 >= 0 }) else {
        fail("--input-shape expects NAME=D0,D1,…, found '\(arguments[index + 1])'")
      }
      shapes[parts[0]] = dims
    }
    try ONNXBenchmark.run(
      modelPath: arguments[1], inputShapes: shapes,
      deviceNames: option("--devices", in: arguments).map { $0.split(separator: ",").map(String.init) } ?? [],
      threads: threadCounts(arguments), repeats: repeats,
      listedSteps: positiveInteger("--steps", default: 15, in: arguments))
  default:
    fail("unknown suite '\(arguments[0])'\n\n\(usage)")
  }
} catch {
  fail("\(error)")
}

/// The `--threads A,B` option (default 1,2).
func threadCounts(_ arguments: [String]) -> [Int] { positiveIntegers("--threads", default: "1,2", in: arguments) }
