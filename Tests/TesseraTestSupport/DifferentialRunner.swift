import Foundation
import TesseraCompiler
import TesseraIR
import TesseraRuntime

/// Differential testing across devices: seeded random graphs (``RandomGraphGenerator``) run on
/// each device and are compared with the reference evaluator at the device's tolerance. A
/// disagreement is shrunk by greedy node removal while it persists, so that it can be read and
/// replayed with `tessera run` (``Mismatch/write(to:)``).
public struct DifferentialRunner {
  /// A device that disagrees with the reference on one graph.
  public struct Mismatch: CustomStringConvertible {
    /// The generator seed of the original graph.
    public var seed: UInt64
    /// The device's name.
    public var device: String
    /// What differed on the minimised graph: a result's tolerance ratio, or the device's error.
    public var message: String
    /// The smallest graph found that still disagrees.
    public var graph: Graph
    /// Its inputs, in argument order.
    public var inputs: [Tensor]

    /// Seed, device, message and the minimised graph's text.
    public var description: String { "seed \(seed) on \(device): \(message)\n\(Printer.print(graph))" }

    /// Writes `graph.tir` and one `.npy` per argument into `directory`; returns the `tessera run`
    /// command that replays the mismatch.
    public func write(to directory: String) throws -> String {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
      try Printer.print(graph).write(toFile: directory + "/graph.tir", atomically: true, encoding: .utf8)
      var command = "tessera run \(directory)/graph.tir --device \(device)"
      for (argument, input) in zip(graph.arguments, inputs) {
        let name = graph[argument].name
        try NPY.write(input, path: "\(directory)/\(name).npy")
        command += " --input \(name)=\(directory)/\(name).npy"
      }
      return command
    }
  }

  /// The devices compared with the reference.
  public let devices: [any Device]
  /// Random steps per graph (``RandomGraphGenerator/makeGraph(operations:)``).
  public let operations: Int

  /// Compares `devices` with the reference on graphs of `operations` random steps.
  public init(devices: [any Device], operations: Int = 10) {
    self.devices = devices
    self.operations = operations
  }

  /// The tolerance a device kind is held to: the NPU rounds matmul operands to fp16, so its
  /// tolerance is wider (DESIGN.md, numerics contract; the NPU parity tests use the same).
  public static func tolerance(_ kind: DeviceKind) -> (atol: Double, rtol: Double) {
    kind == .npu ? (1e-2, 1e-1) : (1e-4, 1e-3)
  }

  /// Runs the graph of `seed` on every device; returns each disagreement, minimised.
  public func check(seed: UInt64) throws -> [Mismatch] {
    var generator = RandomGraphGenerator(seed: seed)
    let graph = try generator.makeGraph(operations: operations)
    let inputs = generator.inputs(for: graph)
    return devices.compactMap { device in
      guard Self.disagreement(graph, inputs, on: device) != nil else { return nil }
      let (small, smallInputs) = Self.minimise(graph, inputs, on: device)
      let message = Self.disagreement(small, smallInputs, on: device) ?? "disagrees"
      return Mismatch(seed: seed, device: device.info.name, message: message, graph: small, inputs: smallInputs)
    }
  }

  /// Why `device` disagrees with the reference on `graph`, or `nil` when it agrees (or when the
  /// reference itself cannot run the graph, which then proves nothing).
  public static func disagreement(_ graph: Graph, _ inputs: [Tensor], on device: any Device) -> String? {
    guard let expected = try? TestSupport.evaluate(graph, inputs) else { return nil }
    let actual: [Tensor]
    do {
      actual = try device.compile(graph).run(inputs: inputs)
    } catch {
      return "\(device.info.name) failed: \(error)"
    }
    guard actual.count == expected.count else {
      return "\(actual.count) results, the reference gives \(expected.count)"
    }
    let (atol, rtol) = tolerance(device.info.kind)
    for (index, (a, e)) in zip(actual, expected).enumerated() {
      guard a.type == e.type else { return "result \(index) is \(a.type), the reference gives \(e.type)" }
      let ratio = TestSupport.toleranceRatio(a, e, atol: atol, rtol: rtol)
      if ratio > 1 {
        return "result \(index) differs by \(String(format: "%.3g", ratio))x the tolerance (atol \(atol), rtol \(rtol))"
      }
    }
    return nil
  }

  /// Greedy shrinking: takes the first smaller candidate that still disagrees, until none does.
  public static func minimise(_ graph: Graph, _ inputs: [Tensor], on device: any Device) -> (Graph, [Tensor]) {
    var current = (graph, inputs)
    while let smaller = candidates(current.0, current.1).first(where: { disagreement($0.0, $0.1, on: device) != nil }) {
      current = smaller
    }
    return current
  }

  /// Smaller graphs, lazily: one node's value returned alone (dropping everything after it), then
  /// one node removed, its value becoming an argument that holds the reference's value.
  private static func candidates(_ graph: Graph, _ inputs: [Tensor]) -> some Sequence<(Graph, [Tensor])> {
    let count = graph.nodes.count
    return (0..<(2 * count)).lazy.compactMap { step in
      step < count ? truncation(graph, inputs, at: step) : cut(graph, inputs, at: step - count)
    }
  }

  private static func truncation(_ graph: Graph, _ inputs: [Tensor], at index: Int) -> (Graph, [Tensor])? {
    var candidate = graph
    candidate.results = [graph.nodes[index].result]
    return pruned(candidate, inputs, smallerThan: graph)
  }

  private static func cut(_ graph: Graph, _ inputs: [Tensor], at index: Int) -> (Graph, [Tensor])? {
    let value = graph.nodes[index].result
    var probe = graph
    probe.results = [value]
    guard let reference = try? TestSupport.evaluate(DeadCodeElimination().run(probe), inputs).first,
      (try? NPY.encode(reference)) != nil
    else { return nil }
    var candidate = graph
    candidate.nodes.remove(at: index)
    candidate.arguments.append(value)
    return pruned(candidate, inputs + [reference], smallerThan: graph)
  }

  /// `graph` without dead nodes and unused arguments, when valid and smaller than `original`.
  private static func pruned(_ graph: Graph, _ inputs: [Tensor], smallerThan original: Graph) -> (Graph, [Tensor])? {
    var graph = DeadCodeElimination().run(graph)
    let used = Set(graph.nodes.flatMap(\.operands) + graph.results)
    let kept = graph.arguments.indices.filter { used.contains(graph.arguments[$0]) }
    graph.arguments = kept.map { graph.arguments[$0] }
    guard graph.nodes.count < original.nodes.count, (try? Verifier.verify(graph)) != nil else { return nil }
    return (graph, kept.map { inputs[$0] })
  }
}
