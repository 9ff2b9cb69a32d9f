import Foundation
import Tessera

// tessera-bench: speed measured against a peer in the same run, never asserted in tests.

let usage = """
  tessera-bench — Tessera's benchmarks, each reported as a ratio to a peer measured in the same run.

  USAGE: tessera-bench <suite> [options]

  SUITES:
    reference   matmul on the reference evaluator (the oracle) vs numpy, sizes --sizes 128,256,512

  OPTIONS:
    --sizes A,B,…   square matmul sizes (default 128,256,512)
    --repeat N      timed runs per size, best kept (default 3)
    --help          show this help
  """

func option(_ name: String, in arguments: [String]) -> String? {
  arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
}

func fail(_ message: String) -> Never {
  FileHandle.standardError.write(Data("error: \(message)\n".utf8))
  exit(2)
}

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.isEmpty || arguments.contains("--help") {
  print(usage)
  exit(arguments.isEmpty ? 2 : 0)
}
guard arguments[0] == "reference" else { fail("unknown suite '\(arguments[0])'\n\n\(usage)") }
let sizesText = option("--sizes", in: arguments) ?? "128,256,512"
let sizes = sizesText.split(separator: ",").map { Int($0) ?? 0 }
guard sizes.allSatisfy({ $0 > 0 }) else { fail("--sizes expects positive integers, found '\(sizesText)'") }
guard let repeats = Int(option("--repeat", in: arguments) ?? "3"), repeats > 0 else {
  fail("--repeat expects a positive integer")
}

print("reference evaluator matmul, f32, best of \(repeats); peer: numpy (python3) in the same run")
print("SIZE   TESSERA GFLOP/s   NUMPY GFLOP/s   RATIO")
for size in sizes {
  let builder = GraphBuilder(name: "matmul")
  let a = builder.argument("a", .f32, [size, size])
  let b = builder.argument("b", .f32, [size, size])
  let graph = try builder.finish(returning: [builder.matmul(a, b)])
  var generator = SeededRandom(seed: 1)
  let inputs = [
    Tensor.random(graph.argumentTypes[0], using: &generator), Tensor.random(graph.argumentTypes[1], using: &generator),
  ]
  let compiled = try ReferenceDevice().compile(graph)
  var best = Double.infinity
  for _ in 0..<repeats {
    let start = DispatchTime.now().uptimeNanoseconds
    _ = try compiled.run(inputs: inputs)
    best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
  }
  let flops = 2 * pow(Double(size), 3)
  let ours = flops / best / 1e9
  let peer = numpyMatmulGFLOPS(size: size, repeats: repeats)
  let peerText = peer.map { String(format: "%13.2f", $0) } ?? "  unavailable"
  let ratio = peer.map { String(format: "%.3f×", ours / $0) } ?? "-"
  print(String(format: "%-6d %15.2f", size, ours) + "   \(peerText)   \(ratio)")
}

/// numpy's matmul speed at `size`, or nil when python3 with numpy is not installed.
func numpyMatmulGFLOPS(size: Int, repeats: Int) -> Double? {
  let script = """
    import time, numpy as np
    a = np.random.rand(\(size), \(size)).astype(np.float32); b = np.random.rand(\(size), \(size)).astype(np.float32)
    best = min((lambda t: (a @ b, time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(\(repeats)))
    print(2 * \(size) ** 3 / best / 1e9)
    """
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  process.arguments = ["python3", "-c", script]
  let pipe = Pipe()
  process.standardOutput = pipe
  process.standardError = FileHandle.nullDevice
  guard (try? process.run()) != nil else { return nil }
  process.waitUntilExit()
  let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
  return process.terminationStatus == 0 ? Double(text.trimmingCharacters(in: .whitespacesAndNewlines)) : nil
}
