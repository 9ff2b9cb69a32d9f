import Tessera
import TesseraTestSupport
import Testing

/// The library's staged matmul (``TesseraKernels/stagedMatmul(_:dtype:epilogue:)``, a GPU's
/// large products) on the KIR interpreter, OpenCL and Vulkan, forced where the driver runs on the
/// CPU (PoCL and lavapipe keep the register-blocked kernel), against the reference evaluator:
/// partial blocks each way, K shorter than a slice and not a multiple of it, batches with a
/// shared operand, f32 and f16, in the default tiling and in an odd one.
@Suite("Staged matmul on every API against the reference")
struct StagedMatmulDeviceTests {
  enum API: String, CaseIterable, CustomTestStringConvertible {
    case interpreter, opencl, vulkan
    var testDescription: String { rawValue }
  }

  /// The default 64 × 64 blocks of 4 × 4, and 12 × 16 blocks of 3 × 2 in 8 × 4 workgroups with
  /// slices of 5 (no size a power of two but the workgroup's).
  static let tilings = [
    MatmulTiling(), MatmulTiling(rows: 3, columns: 2, workgroupColumns: 8, workgroupRows: 4, depth: 5),
  ]

  /// `a x b = c`, each at least half a default block each way (so the library stages it).
  static let cases: [(a: [Int], b: [Int], c: [Int])] = [
    ([37, 29], [29, 50], [37, 50]), ([2, 33, 11], [11, 40], [2, 33, 40]), ([70, 3], [3, 65], [70, 65]),
    ([64, 64], [64, 64], [64, 64]), ([2, 40, 17], [2, 17, 129], [2, 40, 129]),
  ]

  private static let registry = DeviceRegistry.standard()
  /// The standard registry's passes and library.
  private static let options = CompileOptions(
    passes: PassPipeline.standard(evaluator: ReferenceConstantEvaluator()), library: StandardKernelLibrary())

  @Test("f32 and f16 products match the reference", arguments: API.allCases, [0, 1])
  func products(api: API, tiling index: Int) throws {
    let tiling = Self.tilings[index]
    guard let (device, plan) = try Self.device(api, tiling) else { return }
    for dtype in [DType.f32, .f16] {
      for (a, b, c) in Self.cases {
        let graph = try TestSupport.parseOne(Self.text(a, b, c, dtype))
        let kernels = try plan(graph).kernels
        #expect(kernels.contains { $0.comment.contains("staged \(tiling)") }, "\(api) \(a) x \(b): not staged")
        let (atol, rtol) = dtype == .f16 ? (2e-3, 2e-3) : (1e-4, 1e-4)
        for check in try TestSupport.parity(
          device, graph, TestSupport.exampleInputs(graph), atol: { _ in atol }, rtol: { _ in rtol })
        {
          #expect(check.passes, "\(api) \(tiling) \(dtype) \(a) x \(b): \(check.detail)")
        }
      }
    }
  }

  @Test func theLibraryStagesOnlyProductsOfHalfABlockEachWay() throws {
    let library = StandardKernelLibrary(stagedMatmul: MatmulTiling())
    for (m, n, staged) in [(32, 32, true), (31, 64, false), (64, 31, false), (1, 4096, false)] {
      let graph = try TestSupport.parseOne(Self.text([m, 16], [16, n], [m, n], .f32))
      let call = try #require(library.call(for: graph.nodes[0], in: graph))
      #expect(call.kernel.comment.contains("staged") == staged, "\(m) x \(n)")
    }
    let graph = try TestSupport.parseOne(Self.text([37, 29], [29, 50], [37, 50], .f32))
    let call = try #require(library.call(for: graph.nodes[0], in: graph))
    #expect(call.kernel.groupCounts(call.scalars) == [1, 1, 1])
    #expect(call.kernel.workgroupSize == [16, 16, 1])
  }

  @Test func aTuningIsKeptOnlyWhereItFitsTheDevice() {
    var target = TargetCapabilities.gpu("vulkan")
    let odd = Self.tilings[1]
    target.tuning.stagedMatmul = odd
    var fitted = target
    fitted.fitStagedMatmul(maxWorkgroupSize: 1024, maxSharedBytes: 32768)
    #expect(fitted.stagedMatmul == odd)
    // 256 work-items do not fit 128, the odd tiling's 32 do.
    target.tuning.stagedMatmul = MatmulTiling()
    fitted = target
    fitted.fitStagedMatmul(maxWorkgroupSize: 128, maxSharedBytes: 32768)
    #expect(fitted.stagedMatmul == nil)
    target.tuning.stagedMatmul = MatmulTiling(rows: 8, columns: 8)
    fitted = target
    fitted.fitStagedMatmul(maxWorkgroupSize: 1024, maxSharedBytes: 16384)
    #expect(fitted.stagedMatmul == MatmulTiling(), "128 x 128 blocks need 16.5 KiB; the default 8.1")
    var cpu = TargetCapabilities.everything("cpu")
    cpu.tuning.stagedMatmul = odd
    cpu.fitStagedMatmul(maxWorkgroupSize: 1024, maxSharedBytes: 32768)
    #expect(cpu.stagedMatmul == nil, "a target that does not stage keeps the blocked kernel")
  }

  @Test func cpuDriversKeepTheRegisterBlockedKernel() throws {
    for device in Self.registry.availableDevices {
      if let openCL = device as? OpenCLDevice, openCL.properties.isCPU {
        #expect(openCL.capabilities.stagedMatmul == nil, "\(device.info.name)")
      }
      if let vulkan = device as? VulkanDevice, vulkan.isCPU {
        #expect(vulkan.capabilities.stagedMatmul == nil, "\(device.info.name)")
      }
    }
  }

  /// The device for `api` staging with `tiling` and its planner, or `nil` (the reason printed)
  /// without a driver.
  private static func device(_ api: API, _ tiling: MatmulTiling) throws -> (
    device: any Device, plan: (Graph) throws -> CompiledPlan
  )? {
    switch api {
    case .interpreter:
      var target = TargetCapabilities.everything("kir")
      target.stagedMatmul = tiling
      return (
        KIRDevice(library: StandardKernelLibrary(), capabilities: target),
        { try GraphCompiler.compile($0, target: target, options: options) }
      )
    case .opencl:
      guard let base = registry.availableDevices.first(where: { $0 is OpenCLDevice }) as? OpenCLDevice else {
        print("skipped: no usable OpenCL device")
        return nil
      }
      var target = base.capabilities
      target.stagedMatmul = tiling
      let device = try base.configured(capabilities: target)
      return (device, { try device.plan($0) })
    case .vulkan:
      guard
        let base = VulkanProvider(options: options, choosesForCPU: false).discover().lazy.compactMap(\.device).first
          as? VulkanDevice
      else {
        print("skipped: no usable Vulkan device")
        return nil
      }
      guard let device = try base.tuned(KernelTuning(stagedMatmul: tiling)) as? VulkanDevice else { return nil }
      return (device, { try device.plan($0) })
    }
  }

  private static func text(_ a: [Int], _ b: [Int], _ c: [Int], _ dtype: DType) -> String {
    func type(_ dims: [Int]) -> String { "\(dtype)[\(dims.map(String.init).joined(separator: ","))]" }
    return """
      func @mm(%a: \(type(a)), %b: \(type(b))) -> \(type(c)) {
        %c = matmul %a, %b : \(type(c))
        return %c
      }
      """
  }
}
