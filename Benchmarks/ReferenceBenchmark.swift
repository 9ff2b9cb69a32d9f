import Foundation
import Tessera

/// The reference evaluator's matmul against numpy in the same run. The reference is the oracle,
/// not a fast path: this only shows that it stays usable at LLM sizes.
enum ReferenceBenchmark {
  static func run(sizes: [Int], repeats: Int) throws {
    print("reference evaluator matmul, f32, best of \(repeats); peer: numpy (python3, 1 thread) in the same run")
    print("SIZE   TESSERA GFLOP/s   NUMPY GFLOP/s   RATIO")
    for size in sizes {
      let builder = GraphBuilder(name: "matmul")
      let a = builder.argument("a", .f32, [size, size])
      let b = builder.argument("b", .f32, [size, size])
      let graph = try builder.finish(returning: [builder.matmul(a, b)])
      var generator = SeededRandom(seed: 1)
      let inputs = graph.argumentTypes.map { Tensor.random($0, using: &generator) }
      let compiled = try ReferenceDevice().compile(graph)
      let seconds = try bestTime(repeats) { _ = try compiled.run(inputs: inputs) }
      let ours = 2 * pow(Double(size), 3) / seconds / 1e9
      let peer = Peer.numpyGEMM(GEMMShape(m: size, n: size, k: size), threads: 1, repeats: repeats)
      let peerText = peer.map { String(format: "%13.2f", $0) } ?? "  unavailable"
      let ratio = peer.map { String(format: "%.3f×", ours / $0) } ?? "-"
      print(String(format: "%-6d %15.2f", size, ours) + "   \(peerText)   \(ratio)")
    }
  }
}
