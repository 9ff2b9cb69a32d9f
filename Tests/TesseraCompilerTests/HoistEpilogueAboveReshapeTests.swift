import TesseraCPU
import TesseraIR
import TesseraRuntime
import TesseraTestSupport
import Testing

@testable import TesseraCompiler

/// `hoist-epilogue-above-reshape` moves a decomposed convolution's bias, residual and relu onto
/// the matmul product (where fusion puts them in the matmul's group), keeps the values, and leaves
/// reshapes that do not split the product's last axis alone.
@Suite("Hoisting elementwise ops above a matmul product's reshape")
struct HoistEpilogueAboveReshapeTests {
  static let residualBlock = """
    func @f(%x: f32[1,4,6,6], %w: f32[5,4,3,3], %b: f32[5,1,1], %r: f32[1,5,6,6]) -> f32[1,5,6,6] {
      %c = conv2d %x, %w {pads = [1, 1, 1, 1]} : f32[1,5,6,6]
      %y = add %c, %b : f32[1,5,6,6]
      %s = add %y, %r : f32[1,5,6,6]
      %z = relu %s : f32[1,5,6,6]
      return %z
    }
    """

  @Test func convolutionEpilogueJoinsTheMatmulGroupWithTheSameValues() throws {
    let graph = try TestSupport.parseOne(Self.residualBlock)
    let decomposed = DecomposeWindows().run(graph)
    let hoisted = HoistEpilogueAboveReshape().run(decomposed)
    try Verifier.verify(hoisted)
    let epilogue = hoisted.nodes.filter { [.add, .relu].contains($0.kind) }
    #expect(epilogue.count == 3)
    #expect(epilogue.allSatisfy { hoisted.type(of: $0.result).shape.dims == [1, 5, 36] })
    let matmulGroup = Fusion.groups(hoisted).groups.first { $0.kind == .matmul }
    #expect(matmulGroup.map { $0.nodes.map { hoisted.nodes[$0].kind } } == [.matmul, .add, .add, .relu])
    var generator = SeededRandom(seed: 5)
    let inputs = graph.argumentTypes.map { Tensor.random($0, integerBound: 5, using: &generator) }
    let expected = try TestSupport.evaluate(graph, inputs)[0]
    let actual = try TestSupport.evaluate(hoisted, inputs)[0]
    #expect(TestSupport.toleranceRatio(actual, expected, atol: 1e-5, rtol: 1e-5) <= 1)
  }

  static let untouched = [
    // Not a split of the last axis.
    """
    func @f(%a: f32[4,6], %b: f32[6,6], %c: f32[6,4]) -> f32[6,4] {
      %p = matmul %a, %b : f32[4,6]
      %q = reshape %p {shape = [6, 4]} : f32[6,4]
      %y = add %q, %c : f32[6,4]
      return %y
    }
    """,
    // The other operand varies along one split axis only.
    """
    func @f(%a: f32[4,6], %b: f32[6,6], %c: f32[1,3]) -> f32[4,2,3] {
      %p = matmul %a, %b : f32[4,6]
      %q = reshape %p {shape = [4, 2, 3]} : f32[4,2,3]
      %y = add %q, %c : f32[4,2,3]
      return %y
    }
    """,
    // Not a matmul product.
    """
    func @f(%a: f32[4,6], %c: f32[4,1,1]) -> f32[4,2,3] {
      %p = exp %a : f32[4,6]
      %q = reshape %p {shape = [4, 2, 3]} : f32[4,2,3]
      %y = add %q, %c : f32[4,2,3]
      return %y
    }
    """,
  ]

  @Test("reshapes it must not cross", arguments: untouched)
  func leavesOtherReshapes(text: String) throws {
    let graph = try TestSupport.parseOne(text)
    #expect(HoistEpilogueAboveReshape().run(graph).nodes.map(\.kind) == graph.nodes.map(\.kind))
  }

  @Test func splitAndMergedShapes() {
    #expect(HoistEpilogueAboveReshape.splitAxes(from: [1, 5, 36], to: [1, 5, 6, 6]) == 2)
    #expect(HoistEpilogueAboveReshape.splitAxes(from: [1, 5, 36], to: [1, 5, 36]) == 1)
    #expect(HoistEpilogueAboveReshape.splitAxes(from: [1, 5, 36], to: [5, 6, 6]) == nil)
    #expect(HoistEpilogueAboveReshape.splitAxes(from: [4, 6], to: [6, 4]) == nil)
    #expect(HoistEpilogueAboveReshape.merge([5, 1, 1], trailing: [6, 6], into: 36) == [5, 1])
    #expect(HoistEpilogueAboveReshape.merge([1, 5, 6, 6], trailing: [6, 6], into: 36) == [1, 5, 36])
    #expect(HoistEpilogueAboveReshape.merge([1], trailing: [6, 6], into: 36) == [1])
    #expect(HoistEpilogueAboveReshape.merge([], trailing: [6, 6], into: 36) == [])
    #expect(HoistEpilogueAboveReshape.merge([1, 6], trailing: [6, 6], into: 36) == nil)
  }
}
