import Foundation
import Tessera
import TesseraTestSupport
import Testing

/// Deterministic mode (`TESSERA_DETERMINISTIC=1`): on each device, the same graph and inputs give
/// byte-identical results over repeated runs, over fresh compiles and over 1 and 3 threads.
@Suite("Deterministic mode: byte-identical results on each device")
struct DeterminismTests {
  /// The standard devices of a process with `TESSERA_THREADS=threads` in deterministic mode.
  private static func registry(threads: Int) -> DeviceRegistry {
    var environment = ProcessInfo.processInfo.environment
    environment["TESSERA_THREADS"] = String(threads)
    environment[Determinism.environmentVariable] = "1"
    return DeviceRegistry.standard(environment: environment)
  }
  private static let oneThread = registry(threads: 1)
  private static let threeThreads = registry(threads: 3)

  /// Graphs whose kernels split work across threads: a wide f32 matmul with few rows (on one
  /// thread `cpu` would otherwise take another route than on several), long reductions and a
  /// softmax over long rows.
  private static let splitGraphs: [Graph] = [
    """
    func @skinny(%x: f32[3,1024], %w: f32[1024,256]) -> f32[3,256] {
      %y = matmul %x, %w : f32[3,256]
      return %y
    }
    """,
    """
    func @sums(%x: f32[48,2048]) -> (f32[48], f32[2048], f32[]) {
      %rows = reduce_sum %x {axes = [1]} : f32[48]
      %columns = reduce_mean %x {axes = [0]} : f32[2048]
      %all = reduce_sum %x {axes = [0, 1]} : f32[]
      return %rows, %columns, %all
    }
    """,
    """
    func @rows(%x: f32[16,2048], %w: f32[2048]) -> (f32[16,2048], f32[16,2048]) {
      %p = softmax %x {axis = 1} : f32[16,2048]
      %n = rms_norm %x, %w {axis = 1, epsilon = 0.00001} : f32[16,2048]
      return %p, %n
    }
    """,
  ].map { try! TestSupport.parseOne($0) }

  @Test("graphs that split work", arguments: ["cpu", "opencl", "vulkan", "npu"])
  func splitWork(device name: String) throws {
    guard let devices = Self.devices(name) else { return }
    for (index, graph) in Self.splitGraphs.enumerated() {
      try Self.expectIdentical(graph, TestSupport.exampleInputs(graph, seed: UInt64(index)), on: devices)
    }
  }

  @Test("random graphs", arguments: ["cpu", "opencl", "vulkan", "npu"])
  func randomGraphs(device name: String) throws {
    guard let devices = Self.devices(name) else { return }
    for seed in UInt64(0)..<16 {
      var generator = RandomGraphGenerator(seed: seed)
      let graph = try generator.makeGraph()
      try Self.expectIdentical(graph, generator.inputs(for: graph), on: devices)
    }
  }

  @Test func aValueTheModeDoesNotKnowLeavesCPUUnavailable() throws {
    let registry = DeviceRegistry.standard(environment: [Determinism.environmentVariable: "maybe"])
    #expect(throws: DeviceError.unavailable(name: "cpu", reason: "TESSERA_DETERMINISTIC='maybe' is not 1 or 0")) {
      try registry.device(named: "cpu")
    }
    #expect(Determinism.requested(in: [:]) == false)
    #expect(Determinism.requested(in: [Determinism.environmentVariable: "1"]) == true)
  }

  /// The device `name` on one thread and on three, or `nil` (printing why) when it is unusable.
  private static func devices(_ name: String) -> (one: any Device, three: any Device)? {
    do {
      return (try oneThread.device(named: name), try threeThreads.device(named: name))
    } catch {
      print("skipped determinism tests on \(name): \(error)")
      return nil
    }
  }

  /// Runs `graph` twice on one compile and once on another on one thread, and once on three
  /// threads; every run's result bytes must be the first run's.
  private static func expectIdentical(
    _ graph: Graph, _ inputs: [Tensor], on devices: (one: any Device, three: any Device)
  ) throws {
    let compiled = try devices.one.compile(graph)
    let first = try compiled.run(inputs: inputs)
    let runs = [
      try compiled.run(inputs: inputs), try devices.one.compile(graph).run(inputs: inputs),
      try devices.three.compile(graph).run(inputs: inputs),
    ]
    for (index, run) in runs.enumerated() {
      for (result, expected) in zip(run, first) where result.bytes != expected.bytes {
        Issue.record(
          "@\(graph.name) on \(devices.one.info.name): run \(index + 1) differs from the first\n\(graph)")
      }
    }
  }
}
