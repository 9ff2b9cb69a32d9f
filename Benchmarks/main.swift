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
    llm         prefill/decode tok/s of a GGUF model on each device vs llama-bench; --model, --devices,
                --prefill 128, --decode 64 (default model: the cached SmolLM2)

  OPTIONS:
    --sizes A,B,…   square matmul sizes (reference; default 128,256,512)
    --layers N      transformer blocks (compile; default 30)
    --repeat N      timed runs, best kept (default 3)
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
case "llm":
  guard let prefill = Int(option("--prefill", in: arguments) ?? "128"), prefill > 0,
    let decode = Int(option("--decode", in: arguments) ?? "64"), decode > 0
  else { fail("--prefill and --decode expect positive integers") }
  try LLMBenchmark.run(
    modelPath: option("--model", in: arguments),
    deviceNames: option("--devices", in: arguments).map { $0.split(separator: ",").map(String.init) },
    prefill: prefill, decode: decode)
default:
  fail("unknown suite '\(arguments[0])'\n\n\(usage)")
}
