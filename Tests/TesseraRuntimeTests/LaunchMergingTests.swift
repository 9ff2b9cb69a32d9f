import Tessera
import TesseraTestSupport
import Testing

/// Consecutive independent kernels as one launch (``LaunchMerging``, ``KernelMerge``): attention's
/// q, k and v products of one activation merge, and the merged plan gives the reference
/// evaluator's values on the KIR interpreter and on OpenCL; kernels that read what an earlier one
/// writes, or that cannot share a launch, stay apart.
@Suite("Independent kernels launched as one")
struct LaunchMergingTests {
  /// q, k and v products of one activation; with `kReadsV`, k's kernel adds v's result (its
  /// epilogue reads what v's kernel writes).
  static func text(kReadsV: Bool) -> String {
    let k = kReadsV ? "%kv = add %k, %vs : f32[1,192]" : "%kv = mul %k, %k : f32[1,192]"
    return """
      func @f(%x0: f32[1,576], %wq: q4_1[576,576], %wk: q4_1[192,576], %wv: q4_1[192,576], %pos: i32[1]) \
      -> (f32[1,576], f32[1,192], f32[1,192]) {
        %x = mul %x0, %x0 : f32[1,576]
        %dq = dequantize %wq : f32[576,576]
        %tq = transpose %dq {perm = [1, 0]} : f32[576,576]
        %q = matmul %x, %tq : f32[1,576]
        %dk = dequantize %wk : f32[192,576]
        %tk = transpose %dk {perm = [1, 0]} : f32[576,192]
        %k = matmul %x, %tk : f32[1,192]
        %dv = dequantize %wv : f32[192,576]
        %tv = transpose %dv {perm = [1, 0]} : f32[576,192]
        %v = matmul %x, %tv : f32[1,192]
        %qr = reshape %q {shape = [1,9,64]} : f32[1,9,64]
        %qo = rope %qr, %pos {theta = 10000.0, mode = normal} : f32[1,9,64]
        %qb = reshape %qo {shape = [1,576]} : f32[1,576]
        %vs = mul %v, %v : f32[1,192]
        \(k)
        return %qb, %kv, %vs
      }
      """
  }

  static let mergingTarget: TargetCapabilities = {
    var target = TargetCapabilities.everything("kir")
    target.matmulsReadQuantizedWeights = true
    target.mergesIndependentLaunches = true
    return target
  }()

  @Test(
    "q, k and v's products are one launch, but for a kernel reading another's result; what reads them is not in it",
    arguments: [false, true])
  func plan(kReadsV: Bool) throws {
    let plan = try GraphCompiler.compile(TestSupport.parseOne(Self.text(kReadsV: kReadsV)), target: Self.mergingTarget)
    let merged = plan.steps.compactMap(\.call).filter { $0.writes.count > 1 }
    #expect(merged.count == 1)
    let names = Set((merged.first?.writes ?? []).map { plan.graph[$0].name })
    #expect(names == (kReadsV ? ["q", "vs"] : ["q", "kv", "vs"]), "\(plan.description)")
    #expect(plan.steps.filter { $0.launchedWith != nil }.count == names.count - 1)
    #expect(plan.description.contains("matmul in \(merged.first?.kernel.name ?? "?") %vs"))
    // The rope reads q and the add reads k: neither joins the products' launch.
    for step in plan.steps where step.call != nil && step.call!.writes.count == 1 {
      #expect(step.launchedWith == nil)
    }
  }

  @Test("a merged launch takes no more buffers than the target allows", arguments: [2, 6, 9])
  func bufferLimit(limit: Int) throws {
    var target = Self.mergingTarget
    target.maxKernelBuffers = limit
    let plan = try GraphCompiler.compile(TestSupport.parseOne(Self.text(kReadsV: false)), target: target)
    let merged = plan.steps.compactMap(\.call).filter { $0.writes.count > 1 }
    // Each product's kernel takes its output, x and its weight: 2 allows none to join another,
    // 6 two of them, 9 all three.
    #expect(merged.map(\.writes.count) == (limit < 6 ? [] : [limit / 3]), "\(plan.description)")
    #expect(merged.allSatisfy { $0.kernel.buffers.count <= limit })
  }

  static func check(_ device: any Device) throws {
    let graph = try TestSupport.parseOne(Self.text(kReadsV: false))
    var generator = SeededRandom(seed: 5)
    var inputs = graph.argumentTypes.dropLast().map { Tensor.random($0, using: &generator) }
    inputs.append(Tensor([11], shape: [1], dtype: .i32))
    let expected = try TestSupport.evaluate(graph, inputs)
    let actual = try device.compile(graph).run(inputs: inputs)
    for (index, (a, e)) in zip(actual, expected).enumerated() {
      #expect(
        TestSupport.toleranceRatio(a, e, atol: 1e-4, rtol: 1e-4) <= 1,
        "\(device.info.name) result \(index): \(a.preview()) vs \(e.preview())")
    }
  }

  @Test("the merged plan gives the reference's values on the interpreter")
  func interpreter() throws {
    try Self.check(KIRDevice(capabilities: Self.mergingTarget))
  }

  @Test(
    "the merged plan gives the reference's values on OpenCL",
    .enabled(if: QuantizedMatmulDeviceTests.device("opencl") != nil))
  func openCL() throws {
    let base = try #require(QuantizedMatmulDeviceTests.device("opencl") as? OpenCLDevice)
    var capabilities = base.capabilities
    capabilities.mergesIndependentLaunches = true
    try Self.check(try base.configured(capabilities: capabilities))
  }

  @Test(
    "the merged plan gives the reference's values on Vulkan (lavapipe merges launches itself)",
    .enabled(if: QuantizedMatmulDeviceTests.device("vulkan") != nil))
  func vulkan() throws {
    let device = try #require(QuantizedMatmulDeviceTests.device("vulkan") as? VulkanDevice)
    #expect(device.capabilities.mergesIndependentLaunches == device.isCPU)
    try Self.check(device)
  }

  @Test("kernels of other workgroup sizes, with scalars, or spread along two dimensions do not merge")
  func refusals() throws {
    func kernel(workgroup: [Int], global: [KSize], scalar: Bool = false) throws -> Kernel {
      let k = KernelBuilder(name: "k", comment: "")
      k.launch(global: global, workgroup: workgroup)
      if scalar { _ = k.scalar("n") }
      return try k.finish()
    }
    let plain = try kernel(workgroup: [64], global: [.constant(256)])
    #expect(KernelMerge.merged([plain, plain], name: "m") != nil)
    #expect(KernelMerge.merged([plain, try kernel(workgroup: [32], global: [.constant(256)])], name: "m") == nil)
    let scalar = try kernel(workgroup: [64], global: [.constant(256)], scalar: true)
    #expect(KernelMerge.merged([plain, scalar], name: "m") == nil)
    let columns = try kernel(workgroup: [8, 8], global: [.constant(8), .constant(64)])
    let rows = try kernel(workgroup: [8, 8], global: [.constant(64), .constant(8)])
    #expect(KernelMerge.merged([columns, columns], name: "m") != nil)
    #expect(KernelMerge.merged([columns, rows], name: "m") == nil)
  }
}
