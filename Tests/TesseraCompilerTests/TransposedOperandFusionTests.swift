import TesseraCompiler
import TesseraIR
import TesseraTestSupport
import Testing

/// Small matmuls on the GPU targets read a transposed operand through permuted indices: a decode
/// step's attention has no kernel that copies the KV cache transposed. Large ones (the kernel
/// library's) and weights' decodes keep the transposed copy.
@Suite("Matmuls reading transposed operands in place")
struct TransposedOperandFusionTests {
  /// The kinds of the nodes of each step that runs a kernel.
  private static func kernelKinds(_ plan: CompiledPlan) -> [[OpKind]] {
    plan.steps.filter { $0.call != nil }.map { $0.group.nodes.map { plan.graph.nodes[$0].kind } }
  }

  @Test func aDecodeStepsAttentionHasNoTransposeKernel() throws {
    let graph = try TestSupport.parseOne(DecodeAttentionGraph.text(context: 29))
    let kinds = Self.kernelKinds(try GraphCompiler.compile(graph, target: .gpu("opencl")))
    let products = kinds.filter { $0.contains(.matmul) }
    #expect(products.count == 2)
    #expect(products.allSatisfy { $0.contains(.transpose) }, "\(products)")
    #expect(!kinds.contains([.transpose]), "\(kinds)")
  }

  @Test func withoutTheCapabilityEachTransposeIsAKernel() throws {
    let graph = try TestSupport.parseOne(DecodeAttentionGraph.text(context: 29))
    let kinds = Self.kernelKinds(try GraphCompiler.compile(graph, target: .everything("kir")))
    #expect(kinds.filter { $0 == [.transpose] }.count == 2, "\(kinds)")
  }

  /// 64 × 128 × 128 multiply-adds: at the split threshold, so the kernel library would take it.
  @Test func aLargeMatmulKeepsItsTransposedCopy() throws {
    let graph = try TestSupport.parseOne(
      """
      func @f(%a: f32[64,128], %b: f32[128,128]) -> f32[64,128] {
        %t = transpose %b {perm = [1, 0]} : f32[128,128]
        %y = matmul %a, %t : f32[64,128]
        return %y
      }
      """)
    let kinds = Self.kernelKinds(try GraphCompiler.compile(graph, target: .gpu("opencl")))
    #expect(kinds == [[.transpose], [.matmul]])
  }

  /// `transpose(dequantize(w))` is the quantized-weight pattern: the matmul reads `w`'s blocks
  /// and the transpose is not taken into its group.
  @Test func aWeightsDecodeIsNotReadThroughTheTranspose() throws {
    let graph = try TestSupport.parseOne(QuantizedMatmulPlanTests.text(.q8_0, rows: [1], k: 64, n: 8))
    let plan = try GraphCompiler.compile(graph, target: .gpu("opencl"))
    #expect(Self.kernelKinds(plan) == [[.matmul]])
    #expect(plan.steps.last?.call?.reads == [plan.graph.arguments[0], plan.graph.arguments[1]])
  }
}
