import Foundation
import Tessera

/// The OpenCL target on the first OpenCL device: SGEMM against CLBlast on the same device and
/// queue (when libclblast is installed; opened with dlopen, never linked), against the
/// reference evaluator and the cpu backend, the cost of one kernel dispatch, and program build time cold and from
/// the disk cache.
enum OpenCLBenchmark {
  static func run(size: Int, repeats: Int) throws {
    // Cold builds must be cold for PoCL too: its kernel cache goes to a fresh folder.
    let scratch = NSTemporaryDirectory() + "tessera-bench-opencl-\(UUID().uuidString)"
    setenv("POCL_CACHE_DIR", scratch + "/pocl", 1)
    let options = CompileOptions(
      passes: PassPipeline.standard(evaluator: ReferenceConstantEvaluator()), library: StandardKernelLibrary())
    let entries = OpenCLProvider(options: options, hostRunner: InterpreterKernelRunner()).discover()
    guard let found = entries.lazy.compactMap({ $0.device as? OpenCLDevice }).first else {
      let reasons = entries.map { "\($0.info.name): \($0.info.availability)" }.joined(separator: "; ")
      print("opencl: no usable OpenCL device (\(reasons))")
      return
    }
    let device = try found.configured(cacheDirectory: .some(scratch + "/tessera"))
    print("opencl: \(device.info.name) = \(device.properties.name), \(device.info.driver)")
    try buildTimes(device, scratch: scratch)
    try dispatchOverhead(device, repeats: repeats)
    try sgemm(device, size: size, repeats: repeats)
  }

  private static func matmulChain(_ count: Int, name: String) throws -> Graph {
    var lines = ["func @\(name)(%x: f32[4,4], %w: f32[4,4]) -> f32[4,4] {", "  %h0 = matmul %x, %w : f32[4,4]"]
    for index in 1..<max(count, 1) { lines.append("  %h\(index) = matmul %h\(index - 1), %w : f32[4,4]") }
    lines += ["  return %h\(max(count, 1) - 1)", "}"]
    return try Parser.parse(lines.joined(separator: "\n"), file: "bench.tir").functions[0]
  }

  private static func buildTimes(_ device: OpenCLDevice, scratch: String) throws {
    let graph = try matmulChain(8, name: "build_probe")
    let inputs = graph.argumentTypes.map { Tensor(repeating: 0.5, shape: $0.shape) }
    var compiled: CompiledGraph?
    let cold = try bestTime(1) { compiled = try device.compile(graph) }
    let coldRun = try bestTime(1) { _ = try compiled!.run(inputs: inputs) }
    // A new device object: nothing in memory, the binary on disk (PoCL's cache stays warm).
    let fresh = try device.configured(cacheDirectory: .some(scratch + "/tessera"))
    let disk = try bestTime(1) { compiled = try fresh.compile(graph) }
    let diskRun = try bestTime(1) { _ = try compiled!.run(inputs: inputs) }
    print(
      String(
        format:
          "  program build (8 kernels): cold %.1f ms + first run %.1f ms; from the disk cache %.1f ms + first run %.1f ms (%@)",
        cold * 1e3, coldRun * 1e3, disk * 1e3, diskRun * 1e3, "\(fresh.cacheStatistics)"))
  }

  private static func dispatchOverhead(_ device: OpenCLDevice, repeats: Int) throws {
    let few = try device.compile(try matmulChain(1, name: "one"))
    let many = try device.compile(try matmulChain(65, name: "many"))
    let inputs = few.graph.argumentTypes.map { Tensor(repeating: 0.5, shape: $0.shape) }
    _ = try few.run(inputs: inputs)
    _ = try many.run(inputs: inputs)
    let oneTime = try bestTime(repeats * 10) { _ = try few.run(inputs: inputs) }
    let manyTime = try bestTime(repeats * 10) { _ = try many.run(inputs: inputs) }
    print(
      String(
        format: "  graph run with 1 kernel: %.1f µs (upload, launch, flush, read back); per extra dispatch: %.1f µs",
        oneTime * 1e6, (manyTime - oneTime) / 64 * 1e6))
  }

  private static func sgemm(_ device: OpenCLDevice, size n: Int, repeats: Int) throws {
    let graph = try sgemmGraph(n)
    var generator = SeededRandom(seed: 1)
    let inputs = graph.argumentTypes.map { Tensor.random($0, using: &generator) }
    let named = Dictionary(uniqueKeysWithValues: zip(["a", "b"], inputs))
    let compiled = try device.compile(graph)
    let flops = 2 * Double(n) * Double(n) * Double(n)
    var kernelSeconds = Double.infinity
    for _ in 0..<repeats {
      kernelSeconds = min(kernelSeconds, (try compiled.profile(inputs: named) ?? []).map(\.seconds).reduce(0, +))
    }
    let wall = try bestTime(repeats) { _ = try compiled.run(inputs: inputs) }
    print(
      String(
        format:
          "  SGEMM %d³ on Tessera OpenCL (library register-blocked kernel): %.2f GFLOP/s kernel time, %.2f GFLOP/s with transfers",
        n, flops / kernelSeconds / 1e9, flops / wall / 1e9))
    let reference = try ReferenceDevice().compile(graph)
    let referenceSeconds = try bestTime(1) { _ = try reference.run(inputs: inputs) }
    print(
      String(
        format: "  reference evaluator: %.2f GFLOP/s; Tessera OpenCL / reference = %.2fx",
        flops / referenceSeconds / 1e9,
        referenceSeconds / kernelSeconds))
    let cpu = try CPUDevice(library: StandardKernelLibrary()).compile(graph)
    _ = try cpu.run(inputs: inputs)
    let cpuSeconds = try bestTime(repeats) { _ = try cpu.run(inputs: inputs) }
    print(
      String(
        format:
          "  cpu backend (native SGEMM, %d threads): %.2f GFLOP/s; Tessera OpenCL / cpu = %.2fx (runs with transfers)",
        CPUThreadPool.shared.threads, flops / cpuSeconds / 1e9, cpuSeconds / wall))
    guard let peer = try clblastSeconds(device, inputs, size: n, repeats: repeats) else {
      print("  CLBlast: not installed (libclblast.so.1; Debian package libclblast1), no peer ratio")
      return
    }
    print(
      String(
        format: "  CLBlast SGEMM on the same device and queue: %.2f GFLOP/s; Tessera / CLBlast = %.2fx (goal >= 1.0x)",
        flops / peer / 1e9, peer / kernelSeconds))
  }

  /// The best time of CLBlast's SGEMM of the two `size`² `inputs` on `device`'s queue, after a
  /// warm-up run (CLBlast compiles its kernels on first use); `nil` where CLBlast is not installed.
  static func clblastSeconds(_ device: OpenCLDevice, _ inputs: [Tensor], size n: Int, repeats: Int) throws -> Double? {
    guard let clblast = CLBlast() else { return nil }
    let a = try device.interopBuffer(inputs[0].bytes), b = try device.interopBuffer(inputs[1].bytes)
    let c = try device.interopBuffer([UInt8](repeating: 0, count: n * n * 4))
    try clblast.sgemm(n, a, b, c, device)
    return try bestTime(repeats) { try clblast.sgemm(n, a, b, c, device) }
  }
}

/// CLBlast's C API, opened with dlopen: only `CLBlastSgemm` is needed.
private struct CLBlast {
  typealias Sgemm =
    @convention(c) (
      Int32, Int32, Int32, Int, Int, Int, Float, OpaquePointer?, Int, Int, OpaquePointer?, Int, Int, Float,
      OpaquePointer?, Int, Int, UnsafeMutablePointer<OpaquePointer?>?, UnsafeMutablePointer<OpaquePointer?>?
    ) -> Int32
  let library: DynamicLibrary
  let function: Sgemm

  init?() {
    guard let library = try? DynamicLibrary(firstOf: ["libclblast.so.1", "libclblast.so"]),
      let function = library.function("CLBlastSgemm", as: Sgemm.self)
    else { return nil }
    self.library = library
    self.function = function
  }

  /// C = A·B, row-major n×n, then waits for the queue.
  func sgemm(
    _ n: Int, _ a: OpenCLInteropBuffer, _ b: OpenCLInteropBuffer, _ c: OpenCLInteropBuffer, _ device: OpenCLDevice
  )
    throws
  {
    var queue: OpaquePointer? = device.rawQueue
    let rowMajor: Int32 = 101, noTranspose: Int32 = 111
    let status = function(
      rowMajor, noTranspose, noTranspose, n, n, n, 1, a.raw, 0, n, b.raw, 0, n, 0, c.raw, 0, n, &queue, nil)
    guard status == 0 else { fail("CLBlastSgemm returned status \(status)") }
    try device.finishQueue()
  }
}
