import Foundation
import Tessera

/// The Vulkan backend on the first Vulkan device (lavapipe here: one CPU thread, so these are
/// not GPU speeds): SGEMM with the library's tiled matmul kernel against the reference
/// evaluator in the same run, the cost of one more dispatch in a command buffer, and pipeline
/// creation with an empty and with a filled pipeline cache.
enum VulkanBenchmark {
  static func run(size: Int, repeats: Int) throws {
    let cacheRoot = NSTemporaryDirectory() + "tessera-bench-cache-\(getpid())"
    setenv("TESSERA_CACHE", cacheRoot, 1)  // cold means cold: an empty pipeline cache
    setenv("MESA_SHADER_CACHE_DISABLE", "true", 1)  // and no Mesa disk cache behind it
    defer { try? FileManager.default.removeItem(atPath: cacheRoot) }
    guard let device = firstDevice() else { fail("no usable Vulkan device: see `tessera devices`") }
    print("vulkan: \(device.info.name) \(device.info.summary) (\(device.info.driver)); best of \(repeats)")
    try sgemm(device, size: size, repeats: repeats)
    try dispatchOverhead(device, repeats: repeats)
    try pipelineCreation(repeats: repeats)
  }

  private static func firstDevice() -> (any Device)? {
    DeviceRegistry(providers: [VulkanProvider(options: options, host: InterpreterKernelRunner())]).availableDevices
      .first
  }

  private static let options = CompileOptions(
    passes: PassPipeline.standard(evaluator: ReferenceConstantEvaluator()), library: StandardKernelLibrary(),
    fallback: "kir")

  private static func sgemm(_ device: any Device, size: Int, repeats: Int) throws {
    let graph = try sgemmGraph(size)
    var generator = SeededRandom(seed: 1)
    let inputs = graph.argumentTypes.map { Tensor.random($0, using: &generator) }
    let compiled = try device.compile(graph)
    let vulkan = try bestTime(repeats) { _ = try compiled.run(inputs: inputs) }
    let reference = try ReferenceDevice().compile(graph)
    let peer = try bestTime(repeats) { _ = try reference.run(inputs: inputs) }
    let flops = 2 * pow(Double(size), 3)
    print(
      String(
        format: "sgemm %d³: vulkan %.2f GFLOP/s, reference evaluator %.2f GFLOP/s, ratio %.2f×", size,
        flops / vulkan / 1e9,
        flops / peer / 1e9, peer / vulkan))
  }

  /// A chain of `count` 1×1 matmuls: each is its own kernel (a matmul reads materialised operands).
  private static func chain(_ count: Int) throws -> Graph {
    let builder = GraphBuilder(name: "chain")
    var x = builder.argument("x", .f32, [1, 1])
    let w = builder.argument("w", .f32, [1, 1])
    for _ in 0..<count { x = builder.matmul(x, w) }
    return try builder.finish(returning: [x])
  }

  private static func dispatchOverhead(_ device: any Device, repeats: Int) throws {
    let inputs = [Tensor([1], shape: [1, 1]), Tensor([1], shape: [1, 1])]
    let one = try device.compile(try chain(1)), many = try device.compile(try chain(201))
    let single = try bestTime(repeats * 10) { _ = try one.run(inputs: inputs) }
    let all = try bestTime(repeats * 10) { _ = try many.run(inputs: inputs) }
    print(
      String(
        format: "dispatch: one-kernel run %.1f µs; each further dependent dispatch %.2f µs (201-kernel run %.1f µs)",
        single * 1e6, (all - single) / 200 * 1e6, all * 1e6))
  }

  /// Compiles 41 distinct kernels (80 dispatches: identical kernels share a pipeline) with an
  /// empty cache, then again from a new device that loads the cache the first one saved.
  private static func pipelineCreation(repeats: Int) throws {
    let builder = GraphBuilder(name: "kernels")
    var x = builder.argument("x", .f32, [64, 64])
    // Each fused exp·c kernel has its own constant, so its own module; the 40 matmuls are one module.
    for i in 0..<40 { x = builder.matmul(builder.mul(builder.exp(x), builder.constant(1 + Double(i) / 64)), x) }
    let graph = try builder.finish(returning: [x])
    let start = DispatchTime.now().uptimeNanoseconds
    guard let cold = firstDevice() else { return }
    _ = try cold.compile(graph)
    let coldSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    let warmSeconds = try bestTime(repeats) {
      guard let warm = firstDevice() else { return }
      _ = try warm.compile(graph)
    }
    print(
      String(
        format:
          "pipelines: 40 distinct exp·c kernels + 40 matmuls sharing one pipeline, created in %.1f ms with an empty cache, %.1f ms from the saved cache (%.2f×)",
        coldSeconds * 1e3, warmSeconds * 1e3, coldSeconds / warmSeconds))
  }
}
