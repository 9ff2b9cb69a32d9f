import TesseraCPU
import TesseraCompiler
import TesseraIR
import TesseraKernels
import TesseraTestSupport
import Testing

/// A decode step's attention becomes one kernel on targets that fuse it: no softmax, mask or
/// product of its own, the weights never in memory. Prefill-sized attention, values read
/// elsewhere and targets without the capability keep the separate kernels.
@Suite("Attention fused into one kernel")
struct AttentionFusionTests {
  private static let options = CompileOptions(
    passes: PassPipeline.standard(evaluator: ReferenceConstantEvaluator()), library: StandardKernelLibrary())

  /// The kinds of the nodes of each step that runs a kernel, and each step's group kind.
  private static func kernels(_ text: String, target: TargetCapabilities) throws -> [(GroupKind, [OpKind])] {
    let plan = try GraphCompiler.compile(TestSupport.parseOne(text), target: target, options: options)
    return plan.steps.filter { $0.call != nil }.map {
      ($0.group.kind, $0.group.nodes.map { plan.graph.nodes[$0].kind })
    }
  }

  @Test("a decode step's attention is one kernel", arguments: [true, false])
  func oneKernel(reshaped: Bool) throws {
    let steps = try Self.kernels(DecodeAttentionGraph.text(context: 29, reshaped: reshaped), target: .gpu("opencl"))
    let attention = steps.filter { $0.0 == .attention }
    #expect(attention.count == 1, "\(steps)")
    let kinds = attention.first?.1 ?? []
    #expect(kinds.filter { $0 == .matmul }.count == 2 && kinds.contains(.softmax) && kinds.contains(.select))
    #expect(!steps.contains { $0.1.contains(.softmax) && $0.0 != .attention }, "\(steps)")
  }

  /// A workgroup a row of scores, as wide as the target's line reductions where it names a
  /// width (PoCL's 4), else 64.
  @Test("the attention kernel's workgroup", arguments: [nil, 4, 16] as [Int?])
  func workgroupWidth(reductionLanes: Int?) throws {
    var target = TargetCapabilities.gpu("opencl")
    target.reductionLanes = reductionLanes
    let plan = try GraphCompiler.compile(
      TestSupport.parseOne(DecodeAttentionGraph.text(context: 29)), target: target, options: Self.options)
    let attention = try #require(plan.steps.first { $0.group.kind == .attention }?.call?.kernel)
    #expect(attention.workgroupSize == [reductionLanes ?? 64])
  }

  /// Where work-items run as plain SIMD code (a target that streams quantized rows: CPU
  /// drivers), the dot products and the products by the values load 16-lane vectors when the
  /// heads are whole vectors, and match the reference on the interpreter; heads of 8 keep
  /// scalars.
  @Test("the attention kernel in vectors where work-items run as SIMD code")
  func vectors() throws {
    var target = TargetCapabilities.gpu("opencl")
    target.streamsQuantizedRows = true
    target.reductionLanes = 4
    for (dim, vectors) in [(64, true), (16, true), (8, false)] {
      let plan = try GraphCompiler.compile(
        TestSupport.parseOne(DecodeAttentionGraph.text(context: 11, dim: dim)), target: target, options: Self.options)
      let attention = try #require(plan.steps.first { $0.group.kind == .attention }?.call?.kernel)
      let vectorLoads = KIRPrinter.print(attention).split(separator: "\n").filter {
        $0.contains("= load ") && $0.hasSuffix(": f32x16")
      }
      #expect(vectorLoads.isEmpty != vectors, "heads of \(dim)")
    }
    let device = KIRDevice(library: StandardKernelLibrary(), capabilities: target)
    for (name, check) in try DecodeAttentionGraph.parity(on: device) {
      #expect(check.passes, "\(name): \(check.detail)")
    }
  }

  @Test func withoutTheCapabilityTheSoftmaxIsAKernel() throws {
    var target = TargetCapabilities.gpu("opencl")
    target.fusesAttention = false
    let steps = try Self.kernels(DecodeAttentionGraph.text(context: 29), target: target)
    #expect(!steps.contains { $0.0 == .attention })
    #expect(steps.contains { $0.1 == [.softmax] }, "\(steps)")
  }

  /// 2 × 4 queries by 2048 keys of 64: 2²⁰ multiply-adds, a product the kernel library takes.
  @Test func aLargeAttentionKeepsItsKernels() throws {
    let steps = try Self.kernels(
      DecodeAttentionGraph.text(context: 2048, heads: 8, kvHeads: 2, dim: 64), target: .gpu("opencl"))
    #expect(!steps.contains { $0.0 == .attention }, "\(steps)")
  }

  @Test func weightsReadElsewhereAreNotFused() throws {
    let text = DecodeAttentionGraph.text(context: 29).replacingOccurrences(
      of: "return %out, %ck, %cv", with: "return %out, %ck, %p"
    )
    .replacingOccurrences(of: "f32[1,48], f32[29,16], f32[29,16]) {", with: "f32[1,48], f32[29,16], f32[2,3,1,29]) {")
    let steps = try Self.kernels(text, target: .gpu("opencl"))
    #expect(!steps.contains { $0.0 == .attention }, "\(steps)")
  }
}
