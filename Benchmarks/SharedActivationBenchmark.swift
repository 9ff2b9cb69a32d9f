import Foundation
import Tessera

/// SmolLM2-135M's decode matrices (30 layers of q, k, v, o, gate, up, down) as one graph on the
/// `cpu` device, weights bound once: q/k/v and gate/up each reading one activation (the device
/// runs each set as one step: one quantization, one parallel region), against the same graph
/// where every matmul reads its own copy of the activation (one step, one quantization and one
/// fork/join per matrix: what the device did before). Both graphs share the weights and their
/// tiles and run alternately in the same process, so other load on the machine hits both alike.
enum SharedActivationBenchmark {
  /// The projections of one layer: name, rows (n), k, and which activation it reads.
  private static let layer: [(name: String, n: Int, k: Int, input: String)] = [
    ("q", 576, 576, "attn"), ("k", 192, 576, "attn"), ("v", 192, 576, "attn"), ("o", 576, 576, "o"),
    ("gate", 1536, 576, "ffn"), ("up", 1536, 576, "ffn"), ("down", 576, 1536, "down"),
  ]
  private static let layers = 30

  /// Prints and returns one row per precision mode and thread count: ms per pass (every matrix
  /// once) with shared activations, and the speedup over separate activations.
  static func run(threads: [Int], repeats: Int) throws -> [CPUBenchmark.Row] {
    let dtype = DType.q4_1
    print("shared activations: SmolLM2-135M decode matrices (\(dtype), 30 layers) as one graph on the cpu device;")
    print("peer: the same matmuls each reading its own copy of the activation, same device, weights and run")
    print("THREADS  MODE              SHARED ms  SEPARATE ms  SPEEDUP")
    var generator = SeededRandom(seed: 5)
    let weights = (0..<layers).flatMap { index in
      layer.map { ("w\(index)_\($0.name)", Tensor.random(TensorType(dtype, [$0.n, $0.k]), using: &generator)) }
    }
    let shared = try Parser.parse(graph(dtype, separate: false), file: "shared.tir").functions[0]
    let separate = try Parser.parse(graph(dtype, separate: true), file: "separate.tir").functions[0]
    var rows: [CPUBenchmark.Row] = []
    for count in threads {
      for precision in QuantizedPrecision.allCases {
        let device = CPUDevice(
          library: StandardKernelLibrary(), pool: CPUThreadPool(threads: count), quantizedPrecision: precision)
        let bound = try ParameterSet(uploading: weights, to: device)
        let (ours, peer) = try alternating(
          try device.compile(shared, parameters: bound), try device.compile(separate, parameters: bound),
          inputs: (inputs(shared, &generator), inputs(separate, &generator)), repeats: repeats * 3)
        rows.append(
          CPUBenchmark.Row(
            suite: "quant", name: "\(dtype) SmolLM2 stack shared activations \(precision.rawValue)", threads: count,
            value: ours * 1e3, unit: "ms", peer: peer * 1e3, peerName: "separate activations", ratio: peer / ours))
        print(
          String(
            format: "%7d  %@  %9.3f  %11.3f  %6.2f×", count,
            precision.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0), ours * 1e3, peer * 1e3, peer / ours))
      }
    }
    return rows
  }

  /// The best time of each graph over `repeats` runs, one of each in turn.
  private static func alternating(
    _ first: CompiledGraph, _ second: CompiledGraph, inputs: ([String: Tensor], [String: Tensor]), repeats: Int
  ) throws -> (Double, Double) {
    _ = try first.run(inputs: inputs.0)
    _ = try second.run(inputs: inputs.1)
    var best = (Double.infinity, Double.infinity)
    for _ in 0..<repeats {
      best.0 = min(best.0, try bestTime(1) { _ = try first.run(inputs: inputs.0) })
      best.1 = min(best.1, try bestTime(1) { _ = try second.run(inputs: inputs.1) })
    }
    return best
  }

  /// Random activations for the graph's inputs that are not weights.
  private static func inputs(_ graph: Graph, _ generator: inout SeededRandom) -> [String: Tensor] {
    var named: [String: Tensor] = [:]
    for (argument, type) in zip(graph.arguments, graph.argumentTypes) where !graph[argument].name.hasPrefix("w") {
      named[graph[argument].name] = Tensor.random(type, using: &generator)
    }
    return named
  }

  /// Every layer's seven matmuls `x · dequantize(w)ᵀ`; with `separate`, each reads an activation of its own.
  private static func graph(_ dtype: DType, separate: Bool) -> String {
    var arguments: [String] = [], body: [String] = [], results: [String] = []
    for index in 0..<layers {
      var activations: Set<String> = []
      for projection in layer {
        let x = "%x\(index)_" + (separate ? projection.name : projection.input)
        if activations.insert(x).inserted { arguments.append("\(x): f32[1,\(projection.k)]") }
        let w = "w\(index)_\(projection.name)", (n, k) = (projection.n, projection.k)
        arguments.append("%\(w): \(dtype)[\(n),\(k)]")
        body += [
          "  %d_\(w) = dequantize %\(w) : f32[\(n),\(k)]", "  %t_\(w) = transpose %d_\(w) : f32[\(k),\(n)]",
          "  %y_\(w) = matmul \(x), %t_\(w) : f32[1,\(n)]",
        ]
        results.append("%y_\(w)")
      }
    }
    let types = (0..<layers).flatMap { _ in layer.map { "f32[1,\($0.n)]" } }
    return "func @stack(\(arguments.joined(separator: ", "))) -> (\(types.joined(separator: ", "))) {\n"
      + body.joined(separator: "\n") + "\n  return \(results.joined(separator: ", "))\n}\n"
  }
}
