import TesseraCPU
import TesseraCompiler
import TesseraIR
import TesseraRuntime
import TesseraTestSupport
import Testing

/// `decompose-windows` leaves only core ops, keeps the result names and computes what the
/// reference evaluator computes for the original ops.
@Suite("Decomposition of conv2d, the pools and pad")
struct DecomposeWindowsTests {
  private static let examples = OpExample.all.filter { $0.op.family == .window }

  @Test("every window example", arguments: examples)
  func decomposesToCoreOpsWithTheSameValues(example: OpExample) throws {
    let graph = try TestSupport.parseOne(example.text)
    let rewritten = DecomposeWindows().run(graph)
    try Verifier.verify(rewritten)
    #expect(!rewritten.nodes.contains { $0.kind.family == .window })
    #expect(rewritten.results.map { rewritten[$0].name } == graph.results.map { graph[$0].name })
    var generator = SeededRandom(seed: 3)
    let inputs = graph.argumentTypes.map { Tensor.random($0, integerBound: 5, using: &generator) }
    let expected = try TestSupport.evaluate(graph, inputs)[0]
    let actual = try TestSupport.evaluate(rewritten, inputs)[0]
    #expect(TestSupport.toleranceRatio(actual, expected, atol: 1e-5, rtol: 1e-5) <= 1, "\(example)")
  }

  @Test func convolutionBecomesOneMatmulOverTheIm2colColumns() throws {
    let graph = try TestSupport.parseOne(Self.examples.first { $0.op == .conv2d }!.text)
    let kinds = DecomposeWindows().run(graph).nodes.map(\.kind)
    #expect(kinds.filter { $0 == .matmul }.count == 1)
    #expect(kinds.filter { $0 == .slice }.count == 9)
  }
}
