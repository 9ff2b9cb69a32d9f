import Foundation
import Tessera
import TesseraTestSupport

/// Times the graph compiler (passes, fusion, kernel generation, memory planning) on a
/// transformer stack. Goal from the compiler issue: under 100 ms for ~1,000 ops in release.
enum CompileBenchmark {
  static func run(layers: Int, repeats: Int) throws {
    let graph = try TransformerGraph.make(layers: layers)
    let passes = PassPipeline.standard(evaluator: ReferenceConstantEvaluator())
    let options = CompileOptions(passes: passes, library: StandardKernelLibrary())
    var plan: CompiledPlan?
    let seconds = try bestTime(repeats) {
      plan = try GraphCompiler.compile(graph, target: .everything("kir"), options: options)
    }
    let passSeconds = try bestTime(repeats) { _ = try PassManager(passes).run(graph) }
    let optimisedOps = plan!.graph.nodes.count
    print(
      "compile: \(layers) transformer blocks, \(graph.nodes.count) ops (\(optimisedOps) after the passes)"
    )
    print(
      "  \(plan!.kernels.count) kernels, arena \(ByteCount(plan!.memory.arenaBytes)) vs \(ByteCount(plan!.memory.naiveBytes)) without reuse"
    )
    print(
      String(
        format: "  best of %d: %.1f ms (%.1f µs per op), of which graph passes %.1f ms; goal < 100 ms", repeats,
        seconds * 1000, seconds * 1e6 / Double(graph.nodes.count), passSeconds * 1000))
  }
}
