import Foundation
import Tessera
import TesseraTestSupport

/// Times the graph compiler (passes, fusion, kernel generation, memory planning) on a
/// transformer stack, then on SmolLM2's prefill and decode graphs when the model is cached.
/// Goal from the compiler issue: under 100 ms for ~1,000 ops in release.
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
    try llama(options: options, repeats: repeats)
  }

  /// Compile times of SmolLM2's prefill (128 tokens) and decode graphs for the `cpu` target, when
  /// the default model is in the model cache; a note otherwise.
  private static func llama(options: CompileOptions, repeats: Int) throws {
    guard let path = ModelCache.defaultModelIfPresent else {
      print("  (no \(ModelCache.defaultModelPath): SmolLM2 graphs not timed)")
      return
    }
    let model = try LlamaModel(path: path)
    let tokens = 128, context = 256
    let graphs = [
      (
        "prefill \(tokens) tokens",
        try LlamaGraph.prefill(config: model.config, weights: model.weights, tokenCount: tokens, context: context)
      ),
      ("decode", try LlamaGraph.decode(config: model.config, weights: model.weights, context: context)),
    ]
    print("compile: \(ModelCache.defaultModelName), context \(context), target cpu")
    for (label, graph) in graphs {
      var plan: CompiledPlan?
      let seconds = try bestTime(repeats) {
        plan = try GraphCompiler.compile(graph, target: .everything("cpu"), options: options)
      }
      print(
        "  \(label): \(graph.nodes.count) ops, \(plan!.kernels.count) kernels, best of \(repeats): "
          + String(format: "%.1f ms", seconds * 1000))
    }
    try devices(model: model, graphs: graphs)
  }

  /// Each usable device's `compile` of `graphs` (the compiler, then kernel objects, pipelines
  /// or NPU programs, and the arena), once with empty disk caches and once more on new device
  /// objects that find the program binaries and pipeline caches the first pass wrote.
  private static func devices(model: LlamaModel, graphs: [(String, Graph)]) throws {
    let cache = NSTemporaryDirectory() + "tessera-compile-bench-\(ProcessInfo.processInfo.processIdentifier)"
    defer { try? FileManager.default.removeItem(atPath: cache) }
    var environment = ProcessInfo.processInfo.environment
    environment["TESSERA_CACHE"] = cache
    print(
      "device compile (s; cold: empty TESSERA_CACHE, cached: new devices over the caches the cold pass wrote; PoCL's own cache is not emptied)"
    )
    print(
      "DEVICE       "
        + graphs.map { "\($0.0): cold, cached".padding(toLength: 34, withPad: " ", startingAt: 0) }.joined())
    var seconds: [String: [[Double]]] = [:]
    var order: [String] = []
    for _ in 0..<2 {
      let registry = DeviceRegistry.standard(environment: environment)
      for device in ModelDevices.all(in: registry, for: model).devices {
        if seconds[device.info.name] == nil { order.append(device.info.name) }
        var times: [Double] = []
        for (_, graph) in graphs {
          let started = Date()
          _ = try device.compile(graph)
          times.append(Date().timeIntervalSince(started))
        }
        seconds[device.info.name, default: []].append(times)
      }
    }
    for name in order {
      let (cold, cached) = (seconds[name]![0], seconds[name]![1])
      let cells = graphs.indices.map {
        String(format: "%.2f, %.2f", cold[$0], cached[$0]).padding(toLength: 34, withPad: " ", startingAt: 0)
      }
      print(name.padding(toLength: 13, withPad: " ", startingAt: 0) + cells.joined())
    }
  }
}
