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
    compile     graph-compiler time for a stack of transformer blocks; --layers 30
    gemm        cpu SGEMM vs numpy/OpenBLAS at 1 and 2 threads; --sizes 256,512,1024,2048
    quant       cpu Q4_0/Q4_1/Q8_0 matvec GB/s at LLM shapes vs numpy streaming the same bytes
    ops         a fused kernel on the cpu device vs the KIR interpreter

  OPTIONS:
    --sizes A,B,…   square matmul sizes (reference; default 128,256,512)
    --layers N      transformer blocks (compile; default 30)
    --repeat N      timed runs, best kept (default 3)
    --threads A,B   thread counts (gemm, quant, ops; default 1,2)
    --json FILE     also write the rows as JSON (gemm, quant, ops)
    --help          show this help
  """

func option(_ name: String, in arguments: [String]) -> String? {
  arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
}

func fail(_ message: String) -> Never {
  FileHandle.standardError.write(Data("error: \(message)\n".utf8))
  exit(2)
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
guard let repeats = Int(option("--repeat", in: arguments) ?? "3"), repeats > 0 else {
  fail("--repeat expects a positive integer")
}
switch arguments[0] {
case "reference":
  let sizesText = option("--sizes", in: arguments) ?? "128,256,512"
  let sizes = sizesText.split(separator: ",").map { Int($0) ?? 0 }
  guard sizes.allSatisfy({ $0 > 0 }) else { fail("--sizes expects positive integers, found '\(sizesText)'") }
  try ReferenceBenchmark.run(sizes: sizes, repeats: repeats)
case "compile":
  guard let layers = Int(option("--layers", in: arguments) ?? "30"), layers > 0 else {
    fail("--layers expects a positive integer")
  }
  try CompileBenchmark.run(layers: layers, repeats: repeats)
case "gemm", "quant", "ops":
  let threads = (option("--threads", in: arguments) ?? "1,2").split(separator: ",").compactMap { Int($0) }
  guard !threads.isEmpty, threads.allSatisfy({ $0 > 0 }) else { fail("--threads expects positive integers") }
  let rows: [CPUBenchmark.Row]
  switch arguments[0] {
  case "gemm":
    let sizes = (option("--sizes", in: arguments) ?? "256,512,1024,2048").split(separator: ",").map { Int($0) ?? 0 }
    guard sizes.allSatisfy({ $0 > 0 }) else { fail("--sizes expects positive integers") }
    rows = CPUBenchmark.gemm(sizes: sizes, threads: threads, repeats: repeats)
  case "quant": rows = CPUBenchmark.quant(threads: threads, repeats: repeats)
  default: rows = try CPUBenchmark.ops(threads: threads, repeats: repeats)
  }
  if let path = option("--json", in: arguments) { try CPUBenchmark.write(rows, to: path) }
default:
  fail("unknown suite '\(arguments[0])'\n\n\(usage)")
}
