import Tessera
import TesseraTestSupport
import Testing

/// The quantized matmul's streamed shape (one work-item per output, 16-lane vector sums over
/// whole blocks: PoCL's untuned default) against the reference evaluator: every block type (and
/// f16 and bf16 weights, 32 elements a step) on
/// OpenCL and Vulkan tuned to it (PoCL reading four rows a work-item from interleaved copies) and
/// on the KIR interpreter of a target that streams rows, one or four a work-item, on odd
/// sizes (outputs not a multiple of the workgroup's, K of one to five blocks, one to six rows of
/// x, a batch, the residual and SwiGLU epilogues, a constant x). A device without a driver is
/// skipped with its provider's reason.
@Suite("Streamed quantized matmuls against the reference")
struct StreamedQuantizedMatmulTests {
  typealias Case = QuantizedMatmulDeviceTests.Case

  /// Where the streamed kernels run: a GPU kind tuned to the streamed shape, or the interpreter.
  enum Target: String, Sendable, CaseIterable, CustomStringConvertible {
    case opencl, vulkan, interpreter, interleaved
    var description: String { rawValue }
  }

  struct Run: Sendable, CustomStringConvertible {
    var dtype: DType, target: Target
    var description: String { "\(dtype) on \(target)" }
  }

  static let runs = (BlockFormat.all.map(\.dtype) + [.f16, .bf16]).flatMap { dtype in
    Target.allCases.map { Run(dtype: dtype, target: $0) }
  }

  /// Odd sizes in whole blocks of `elements`.
  static func cases(blockElements e: Int) -> [Case] {
    [
      Case(rows: [1], k: e, n: 130), Case(rows: [3], k: 3 * e, n: 7, epilogue: .residual),
      Case(rows: [2, 3], k: 2 * e, n: 9), Case(rows: [1], k: 5 * e, n: 33, epilogue: .swiglu),
      Case(rows: [6], k: e, n: 3), Case(rows: [1], k: 2 * e, n: 5, constantX: true),
    ]
  }

  static let streamingTarget: TargetCapabilities = {
    var target = TargetCapabilities.everything("kir", matmulsReadQuantizedWeights: true)
    target.streamsQuantizedRows = true
    return target
  }()

  static func device(_ target: Target) throws -> (any Device)? {
    switch target {
    case .interpreter: return KIRDevice(capabilities: streamingTarget)
    case .interleaved: return KIRDevice(capabilities: InterleavedWeightTests.interleaving)
    case .opencl, .vulkan:
      let tunable = QuantizedMatmulDeviceTests.device(target.rawValue) as? any TunableDevice
      return try tunable?.tuned(KernelTuning(quantizedMatmul: .streamed))
    }
  }

  @Test(arguments: runs) func streamedShapeMatchesTheReference(run: Run) throws {
    guard let device = try Self.device(run.target) else {
      print("skipped \(run): \(QuantizedMatmulDeviceTests.skipReason(run.target.rawValue))")
      return
    }
    for c in Self.cases(blockElements: run.dtype.blockFormat?.elements ?? 32) {
      try QuantizedMatmulDeviceTests.check(device, run.dtype, c)
    }
  }

  @Test("a target that streams rows launches one work-item per output and loads 16 lanes")
  func streamingTargetKernel() throws {
    let graph = try TestSupport.parseOne(QuantizedMatmulDeviceTests.text(.q4_1, Case(rows: [1], k: 576, n: 130)))
    let kernel = try #require(
      try GraphCompiler.compile(graph, target: Self.streamingTarget).steps.compactMap(\.call).first
    ).kernel
    let printed = KIRPrinter.print(kernel)
    #expect(kernel.workgroupSize.prefix(2) == [1, 32])
    #expect(!printed.contains("barrier") && !printed.contains("subgroup_add"))
    #expect(printed.contains("load_dequant") && printed.contains(": f32x16"), "\(printed)")
  }

  @Test("the untuned shape is the streamed one exactly where the target streams rows", arguments: [false, true])
  func untunedShape(streams: Bool) {
    var target = TargetCapabilities.everything("opencl", matmulsReadQuantizedWeights: true)
    target.streamsQuantizedRows = streams
    let untuned = QuantizedMatmulTuning.untuned(for: target)
    #expect((untuned == .streamed) == streams)
    #expect(untuned.lanes == (streams ? 1 : 32))
  }

  @Test("a tuning file's shape wins over the streamed default")
  func tuningWins() throws {
    var target = Self.streamingTarget
    target.tuning = KernelTuning(quantizedMatmul: QuantizedMatmulTuning(lanes: 8, rows: 2, subgroupSums: false))
    let graph = try TestSupport.parseOne(QuantizedMatmulDeviceTests.text(.q4_1, Case(rows: [1], k: 96, n: 7)))
    let kernel = try #require(try GraphCompiler.compile(graph, target: target).steps.compactMap(\.call).first).kernel
    #expect(kernel.workgroupSize.prefix(2) == [8, 2])
  }
}
