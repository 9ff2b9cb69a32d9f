import Foundation
import Tessera

/// `tessera-bench onnx MODEL.onnx`: batch latency of an ONNX model on the `cpu` device at each
/// thread count against onnxruntime (CPU execution provider, the same intra-op thread count) in
/// the same run, then on any other devices named with `--devices` (against onnxruntime at the
/// largest thread count). Inputs are seeded random values, written once and read by both; the
/// cpu result is compared with onnxruntime's, and a profile of the cpu run by op kind follows,
/// with its `listedSteps` slowest steps.
enum ONNXBenchmark {
  static func run(
    modelPath: String, inputShapes: [String: [Int]], deviceNames: [String], threads: [Int], repeats: Int,
    listedSteps: Int
  ) throws {
    let options = ONNXImportOptions(evaluator: ReferenceConstantEvaluator(), inputShapes: inputShapes)
    let graph = try ONNXImporter.importFile(modelPath, options: options)
    var generator = SeededRandom(seed: 1)
    let inputs = graph.argumentTypes.map { Tensor.random($0, using: &generator) }
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-bench-onnx-\(getpid())").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    for (index, input) in inputs.enumerated() { try NPY.write(input, path: "\(directory)/in\(index).npy") }
    let shapes = graph.argumentTypes.map(\.description).joined(separator: ", ")
    print("\(modelPath) (\(shapes)): best of \(repeats) after a warm-up run; peer: onnxruntime in the same run")
    print("DEVICE        TESSERA ms   ONNXRUNTIME ms   SPEED RATIO (onnxruntime time / Tessera time)")
    var peerAtMostThreads: Double?
    var lastCPU: CompiledGraph?
    for count in threads {
      let peer = onnxruntime(modelPath: modelPath, inputs: directory, threads: count, repeats: repeats)
      peerAtMostThreads = peer
      let device = CPUDevice(library: StandardKernelLibrary(), pool: CPUThreadPool(threads: count))
      lastCPU = try row("cpu \(count)T", device, graph, inputs, peer: peer, repeats: repeats)
    }
    let registry = DeviceRegistry.standard()
    for name in deviceNames where name != "cpu" {
      try row(name, try registry.device(named: name), graph, inputs, peer: peerAtMostThreads, repeats: repeats)
    }
    guard let lastCPU else { return }
    if let expected = try? NPY.read(path: "\(directory)/out0.npy") {
      let actual = try lastCPU.run(inputs: inputs)[0].doubles
      let worst = zip(actual, expected.doubles).map { Swift.abs($0 - $1) }.max() ?? 0
      let scale = expected.doubles.map { Swift.abs($0) }.max() ?? 0
      print(String(format: "cpu result 0 vs onnxruntime: max |Δ| %.3g (largest |value| %.3g)", worst, scale))
    }
    try printProfile(lastCPU, inputs, label: "cpu \(threads.last!)T", repeats: repeats, listedSteps: listedSteps)
  }

  /// What a profiled step did, without the value it wrote: `native strided concat`, `native
  /// matmul`, `kernel max` (a generated kernel, by its root op).
  private static func stepKind(_ name: String) -> String {
    let head = name.components(separatedBy: " → ")[0]
    if head.hasPrefix("kernel k"), let root = head.split(separator: "_", maxSplits: 1).last {
      return "kernel \(root)"
    }
    return head.components(separatedBy: "(")[0].trimmingCharacters(in: .whitespaces)
  }

  /// The cpu time per kind of step, each step's best of `repeats` profiled runs, largest kind
  /// first; then the `listedSteps` slowest steps.
  private static func printProfile(
    _ compiled: CompiledGraph, _ inputs: [Tensor], label: String, repeats: Int, listedSteps: Int
  ) throws {
    guard var timings = try compiled.profile(inputs: inputs) else { return }
    for _ in 1..<repeats {
      guard let again = try compiled.profile(inputs: inputs) else { return }
      for index in timings.indices { timings[index].seconds = Swift.min(timings[index].seconds, again[index].seconds) }
    }
    var byKind: [String: (seconds: Double, kernels: Int)] = [:]
    for timing in timings {
      let kind = stepKind(timing.kernel)
      byKind[kind, default: (0, 0)].seconds += timing.seconds
      byKind[kind, default: (0, 0)].kernels += 1
    }
    let total = byKind.values.reduce(0) { $0 + $1.seconds }
    print(
      "profile on \(label), each step's best of \(repeats): "
        + String(format: "%.3f ms in %d kernels", total * 1e3, timings.count))
    for (kind, entry) in byKind.sorted(by: { $0.value.seconds > $1.value.seconds }) {
      print(
        "  " + kind.padding(toLength: 28, withPad: " ", startingAt: 0)
          + String(
            format: " %9.3f ms %5.1f%%  %4d kernels", entry.seconds * 1e3, 100 * entry.seconds / total, entry.kernels))
    }
    print("slowest steps:")
    for timing in timings.sorted(by: { $0.seconds > $1.seconds }).prefix(listedSteps) {
      print(String(format: "  %9.3f ms  ", timing.seconds * 1e3) + timing.kernel)
    }
  }

  @discardableResult
  private static func row(
    _ label: String, _ device: any Device, _ graph: Graph, _ inputs: [Tensor], peer: Double?, repeats: Int
  ) throws -> CompiledGraph {
    let compiled = try device.compile(graph)
    _ = try compiled.run(inputs: inputs)
    let seconds = try bestTime(repeats) { _ = try compiled.run(inputs: inputs) }
    let peerText = peer.map { String(format: "%14.3f", $0 * 1e3) } ?? "   unavailable"
    print(
      label.padding(toLength: 12, withPad: " ", startingAt: 0) + String(format: " %11.3f", seconds * 1e3)
        + "   \(peerText)   " + (peer.map { String(format: "%.3g×", $0 / seconds) } ?? "-"))
    return compiled
  }

  /// onnxruntime's best time in seconds with `threads` intra-op threads, or `nil` when it is not
  /// installed or fails.
  private static func onnxruntime(modelPath: String, inputs: String, threads: Int, repeats: Int) -> Double? {
    Peer.python(
      """
      import time, numpy as np, onnxruntime as ort
      o = ort.SessionOptions(); o.intra_op_num_threads = \(threads); o.inter_op_num_threads = 1
      s = ort.InferenceSession(\(String(reflecting: modelPath)), o, providers=["CPUExecutionProvider"])
      feeds = {i.name: np.load(f"\(inputs)/in{k}.npy") for k, i in enumerate(s.get_inputs())}
      s.run(None, feeds)
      best = min((lambda t: (s.run(None, feeds), time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(\(repeats)))
      np.save("\(inputs)/out0.npy", s.run(None, feeds)[0])
      print(best)
      """, threads: threads)
  }
}
