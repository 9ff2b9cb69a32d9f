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
        let graph = try TestSupport.parseOne(LibraryMatmulDeviceTests.text(a, b, c, dtype))
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
      let graph = try TestSupport.parseOne(LibraryMatmulDeviceTests.text([m, 16], [16, n], [m, n], .f32))
      let call = try #require(library.call(for: graph.nodes[0], in: graph))
      #expect(call.kernel.comment.contains("staged") == staged, "\(m) x \(n)")
    }
    let graph = try TestSupport.parseOne(LibraryMatmulDeviceTests.text([37, 29], [29, 50], [37, 50], .f32))
    let call = try #require(library.call(for: graph.nodes[0], in: graph))
    #expect(call.kernel.groupCounts(call.scalars) == [1, 1, 1])
    #expect(call.kernel.workgroupSize == [16, 16, 1])
  }

  @Test func aTuningIsKeptOnlyWhereItFitsTheDevice() {
    let odd = Self.tilings[1]
    func fitted(_ tuned: MatmulTiling?, workItems: Int, sharedBytes: Int, stages: Bool = true) -> MatmulTiling? {
      var target = TargetCapabilities.gpu("vulkan")
      if !stages { target.stagedMatmul = nil }
      target.tuning.stagedMatmul = tuned
      target.fitStagedMatmul(maxWorkgroupSize: workItems, maxSharedBytes: sharedBytes)
      return target.stagedMatmulTiling
    }
    #expect(fitted(odd, workItems: 1024, sharedBytes: 32768) == odd)
    #expect(fitted(nil, workItems: 1024, sharedBytes: 32768) == MatmulTiling())
    #expect(
      fitted(MatmulTiling(rows: 8, columns: 8), workItems: 1024, sharedBytes: 16384) == MatmulTiling(),
      "128 x 128 blocks need 16.5 KiB of shared memory, the default 8.1")
    #expect(fitted(odd, workItems: 128, sharedBytes: 32768) == nil, "the default's 256 work-items do not fit 128")
    #expect(fitted(odd, workItems: 1024, sharedBytes: 32768, stages: false) == nil, "a target that does not stage")
  }

  @Test func theCandidatesFitTheDevice() {
    let all = MatmulTiling.candidates(maxWorkgroupSize: 1024, maxSharedBytes: 65536)
    #expect(all.count == 48 && all.contains(MatmulTiling()))
    let small = MatmulTiling.candidates(maxWorkgroupSize: 128, maxSharedBytes: 16384)
    #expect(!small.isEmpty && small.allSatisfy { $0.workItems <= 128 && $0.sharedBytes <= 16384 })
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
      target.tuning.stagedMatmul = nil
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
}

/// `tessera tune`'s staged matmul family: every candidate tiling computes the reference's values
/// (so tuning never changes results beyond the tolerance), and the search runs where the device
/// stages and not elsewhere.
@Suite("Staged matmul tuning")
struct StagedMatmulTuningTests {
  /// Every value of every parameter of the candidates at least once: 4 and 8 rows and columns a
  /// work-item, workgroups of 8 and 16 each way, slices 8, 16 and 32 deep (all 48 take a minute
  /// on the interpreter; the generator is the same for every size).
  static let representatives = [
    MatmulTiling(rows: 4, columns: 4, workgroupColumns: 8, workgroupRows: 8, depth: 8),
    MatmulTiling(rows: 8, columns: 4, workgroupColumns: 16, workgroupRows: 8, depth: 16),
    MatmulTiling(rows: 4, columns: 8, workgroupColumns: 8, workgroupRows: 16, depth: 32),
    MatmulTiling(rows: 8, columns: 8, workgroupColumns: 16, workgroupRows: 16, depth: 16),
  ]

  @Test func theCandidatesMatchTheReferenceOnTheInterpreter() throws {
    let graph = try TestSupport.parseOne(
      """
      func @mm(%a: f32[70,21], %b: f32[21,70]) -> f32[70,70] {
        %c = matmul %a, %b : f32[70,70]
        return %c
      }
      """)
    let inputs = TestSupport.exampleInputs(graph)
    let expected = try TestSupport.evaluate(graph, inputs)[0]
    let candidates = MatmulTiling.candidates(maxWorkgroupSize: 1024, maxSharedBytes: 65536)
    for tiling in Self.representatives {
      #expect(candidates.contains(tiling))
      var target = TargetCapabilities.everything("kir")
      target.stagedMatmul = tiling
      let actual = try KIRDevice(library: StandardKernelLibrary(), capabilities: target).compile(graph)
        .run(inputs: inputs)[0]
      #expect(TestSupport.toleranceRatio(actual, expected, atol: 1e-4, rtol: 1e-4) <= 1, "\(tiling)")
    }
  }

  @Test func theSearchRunsOnlyWhereTheDeviceStages() throws {
    let options = CompileOptions(
      passes: PassPipeline.standard(evaluator: ReferenceConstantEvaluator()), library: StandardKernelLibrary())
    guard
      let forced = VulkanProvider(options: options, choosesForCPU: false).discover().lazy.compactMap(\.device).first
        as? VulkanDevice
    else {
      print("skipped: no usable Vulkan device")
      return
    }
    var tuner = KernelTuner(products: [KernelTuner.Product(m: 40, n: 36, k: 10)], repeats: 1)
    tuner.stagedCandidates = Self.representatives
    let outcome = try #require(try tuner.tuneStagedMatmul(on: forced))
    #expect(outcome.measurements.first?.shape == nil, "the default is measured first")
    #expect(outcome.measurements.allSatisfy { $0.seconds != nil }, "every tiling computes the reference's values")
    #expect(outcome.measurements.map(\.shape) == [nil] + Self.representatives)
    if let chosen = outcome.chosen {
      let seconds = outcome.measurements.compactMap(\.seconds)
      #expect(outcome.measurements.first { $0.shape == chosen }?.seconds == seconds.min())
    }
    let cpuDriver = try #require(
      VulkanProvider(options: options).discover().lazy.compactMap(\.device).first as? VulkanDevice)
    if cpuDriver.isCPU { #expect(try tuner.tuneStagedMatmul(on: cpuDriver) == nil) }
  }
}
