import Foundation
import Tessera

/// `tessera-bench gemm --device opencl|vulkan`: SGEMM at each size on the first device of that
/// kind, its kernel time and its time with transfers, CLBlast on the same OpenCL device and
/// queue where it is installed, and the share of the device's FP32 peak: `--peak-gflops`, or
/// this machine's measured FMA rate on all its cores where the device is a CPU driver (PoCL,
/// lavapipe). `staged` runs the staged kernel (``TargetCapabilities/stagedMatmul``) on CPU
/// drivers too, which keep the register-blocked one.
enum DeviceGEMMBenchmark {
  static func run(kind: String, sizes: [Int], peakGFLOPS: Double?, repeats: Int, staged: Bool) throws {
    let options = CompileOptions(
      passes: PassPipeline.standard(evaluator: ReferenceConstantEvaluator()), library: StandardKernelLibrary(),
      fallback: "kir")
    let providers: [any DeviceProvider] =
      kind == "opencl"
      ? [OpenCLProvider(options: options, hostRunner: InterpreterKernelRunner())]
      : [VulkanProvider(options: options, host: InterpreterKernelRunner(), choosesForCPU: !staged)]
    let entries = DeviceRegistry(providers: providers).entries
    guard var device = entries.lazy.compactMap(\.device).first else {
      let reasons = entries.map { "\($0.info.name): \($0.info.availability)" }.joined(separator: "; ")
      print("gemm: no usable \(kind) device (\(reasons.isEmpty ? "none listed" : reasons))")
      return
    }
    if staged, let openCL = device as? OpenCLDevice, openCL.capabilities.stagedMatmul == nil {
      var target = openCL.capabilities
      target.stagedMatmul = MatmulTiling()
      device = try openCL.configured(capabilities: target)
    }
    let onThisCPU = (device as? OpenCLDevice)?.properties.isCPU ?? (device as? VulkanDevice)?.isCPU ?? false
    let peak = peakGFLOPS ?? (onThisCPU ? FMAPeak.perCore * Double(ProcessInfo.processInfo.activeProcessorCount) : nil)
    let peakNote =
      peakGFLOPS != nil
      ? "as given" : onThisCPU ? "this CPU's FMA rate on every core" : "unknown: pass --peak-gflops"
    let stagedTiling = (device as? any TunableDevice)?.capabilities.stagedMatmulTiling
    print("gemm on \(device.info.name) (\(device.info.summary), \(device.info.driver))")
    print("kernel: " + (stagedTiling.map { "staged, \($0)" } ?? "register-blocked"))
    print("FP32 peak: \(peak.map { String(format: "%.0f GFLOP/s", $0) } ?? "-") (\(peakNote)); best of \(repeats)")
    print("SIZE    KERNEL GFLOP/s   WITH TRANSFERS   CLBLAST GFLOP/s   TESSERA / CLBLAST   % OF PEAK")
    for size in sizes {
      let row = try measure(device, size: size, repeats: repeats)
      let clblast = row.clblast.map { String(format: "%.1f", $0) } ?? "-"
      let ratio = row.clblast.map { String(format: "%.2f×", row.kernel / $0) } ?? "-"
      let share = peak.map { String(format: "%.1f%%", 100 * row.kernel / $0) } ?? "-"
      print(
        "\(String(size).padding(toLength: 8, withPad: " ", startingAt: 0))"
          + "\(String(format: "%.1f", row.kernel).padding(toLength: 17, withPad: " ", startingAt: 0))"
          + "\(String(format: "%.1f", row.wall).padding(toLength: 17, withPad: " ", startingAt: 0))"
          + "\(clblast.padding(toLength: 18, withPad: " ", startingAt: 0))"
          + "\(ratio.padding(toLength: 20, withPad: " ", startingAt: 0))\(share)")
    }
  }

  /// GFLOP/s of one `size`³ SGEMM: by the device's kernel timers (the wall clock where it has
  /// none), with transfers, and CLBlast's on the same OpenCL device.
  private static func measure(_ device: any Device, size: Int, repeats: Int) throws -> (
    kernel: Double, wall: Double, clblast: Double?
  ) {
    let graph = try sgemmGraph(size)
    var generator = SeededRandom(seed: 1)
    let inputs = graph.argumentTypes.map { Tensor.random($0, using: &generator) }
    let named = Dictionary(uniqueKeysWithValues: zip(["a", "b"], inputs))
    let compiled = try device.compile(graph)
    let wall = try bestTime(repeats) { _ = try compiled.run(inputs: inputs) }
    var kernel = Double.infinity
    for _ in 0..<repeats {
      if let timings = try compiled.profile(inputs: named) { kernel = min(kernel, timings.map(\.seconds).reduce(0, +)) }
    }
    let flops = 2 * pow(Double(size), 3) / 1e9
    let peer = try (device as? OpenCLDevice).flatMap {
      try OpenCLBenchmark.clblastSeconds($0, inputs, size: size, repeats: repeats)
    }
    return (flops / (kernel.isFinite ? kernel : wall), flops / wall, peer.map { flops / $0 })
  }
}
