import TesseraCPU
import TesseraCompiler
import TesseraIR
import TesseraRuntime
import TesseraTestSupport
import Testing

@Suite("Decomposition of composite ops")
struct DecomposeCompositesTests {
  @Test func softmaxExpandsIntoCoreOps() throws {
    let before = """
      func @f(%x: f32[3,7]) -> f32[3,7] {
        %y = softmax %x {axis = -1} : f32[3,7]
        return %y
      }
      """
    let expected = """
      func @f(%x: f32[3,7]) -> f32[3,7] {
        %y.reduce_max = reduce_max %x {axes = [1], keepdims = true} : f32[3,1]
        %y.sub = sub %x, %y.reduce_max : f32[3,7]
        %y.exp = exp %y.sub : f32[3,7]
        %y.reduce_sum = reduce_sum %y.exp {axes = [1], keepdims = true} : f32[3,1]
        %y = div %y.exp, %y.reduce_sum : f32[3,7]
        return %y
      }
      """
    #expect(try PassTesting.run(DecomposeComposites(), on: before) == PassTesting.canonical(expected))
  }

  @Test func siluExpandsThroughSigmoidOnlyWhenAsked() throws {
    let before = """
      func @f(%x: f16[4]) -> f16[4] {
        %y = silu %x : f16[4]
        return %y
      }
      """
    let sigmoidKept = """
      func @f(%x: f16[4]) -> f16[4] {
        %y.sigmoid = sigmoid %x : f16[4]
        %y = mul %x, %y.sigmoid : f16[4]
        return %y
      }
      """
    let sigmoidExpanded = """
      func @f(%x: f16[4]) -> f16[4] {
        %y.sigmoid.neg = neg %x : f16[4]
        %y.sigmoid.exp = exp %y.sigmoid.neg : f16[4]
        %y.sigmoid.c = constant 1.0 : f16[]
        %y.sigmoid.add = add %y.sigmoid.exp, %y.sigmoid.c : f16[4]
        %y.sigmoid = reciprocal %y.sigmoid.add : f16[4]
        %y = mul %x, %y.sigmoid : f16[4]
        return %y
      }
      """
    #expect(try PassTesting.run(DecomposeComposites(kinds: [.silu]), on: before) == PassTesting.canonical(sigmoidKept))
    #expect(try PassTesting.run(DecomposeComposites(), on: before) == PassTesting.canonical(sigmoidExpanded))
    #expect(
      try PassTesting.run(DecomposeComposites(kinds: [.softmax, .rope]), on: before) == PassTesting.canonical(before))
  }

  /// One graph per composite op and variant, all f32.
  private static let composites: [(String, String)] = [
    ("softmax last axis", "%x: f32[3,7]", "softmax %x {axis = -1}", "f32[3,7]"),
    ("softmax axis 0", "%x: f32[5,2,3]", "softmax %x {axis = 0}", "f32[5,2,3]"),
    ("rms_norm", "%x: f32[4,9], %w: f32[9]", "rms_norm %x, %w {axis = -1, epsilon = 1.0e-06}", "f32[4,9]"),
    ("rms_norm axis 0 default epsilon", "%x: f32[6,3], %w: f32[6,1]", "rms_norm %x, %w {axis = 0}", "f32[6,3]"),
    ("layer_norm", "%x: f32[4,9]", "layer_norm %x {axis = -1, epsilon = 1.0e-05}", "f32[4,9]"),
    ("layer_norm weight", "%x: f32[4,9], %w: f32[9]", "layer_norm %x, %w", "f32[4,9]"),
    (
      "layer_norm weight bias", "%x: f32[2,5,8], %w: f32[8], %b: f32[8]", "layer_norm %x, %w, %b {axis = 2}",
      "f32[2,5,8]"
    ),
    ("gelu", "%x: f32[5,7]", "gelu %x", "f32[5,7]"),
    ("gelu tanh", "%x: f32[5,7]", "gelu %x {approximate = tanh}", "f32[5,7]"),
    ("silu", "%x: f32[5,7]", "silu %x", "f32[5,7]"),
    ("sigmoid", "%x: f32[5,7]", "sigmoid %x", "f32[5,7]"),
  ].map { label, signature, op, type in
    (label, "func @f(\(signature)) -> \(type) {\n  %y = \(op) : \(type)\n  return %y\n}\n")
  }

  @Test(arguments: composites)
  func decompositionMatchesTheFusedReference(_ label: String, _ text: String) throws {
    let graph = try TestSupport.parseOne(text)
    let decomposed = try PassManager([DecomposeComposites()]).run(graph)
    #expect(!decomposed.nodes.contains { DecomposeComposites.decomposable.contains($0.kind) }, "\(decomposed)")
    var random = SeededRandom(seed: 42)
    for _ in 0..<3 {
      let inputs = graph.argumentTypes.map { type in
        Tensor(floats: Tensor.random(type, using: &random).floats.map { $0 * 4 }, shape: type.shape)
      }
      let expected = try TestSupport.evaluate(graph, inputs)[0]
      let actual = try TestSupport.evaluate(decomposed, inputs)[0]
      let ratio = TestSupport.toleranceRatio(actual, expected, atol: 1e-6, rtol: 1e-5)
      #expect(ratio <= 1, "\(label): tolerance ratio \(ratio)\n\(decomposed)")
    }
  }

  /// f16 expansions round after every op, so they only agree with the fused reference (which
  /// accumulates in double and rounds once) to f16 precision.
  @Test func halfPrecisionExpansionsAgreeToHalfPrecision() throws {
    let graph = try TestSupport.parseOne(
      """
      func @f(%x: f16[4,16], %w: f16[16]) -> (f16[4,16], f16[4,16], f16[4,16]) {
        %s = softmax %x : f16[4,16]
        %l = layer_norm %x, %w : f16[4,16]
        %g = gelu %x : f16[4,16]
        return %s, %l, %g
      }
      """)
    let decomposed = try PassManager([DecomposeComposites()]).run(graph)
    var random = SeededRandom(seed: 7)
    let inputs = graph.argumentTypes.map { Tensor.random($0, using: &random) }
    let expected = try TestSupport.evaluate(graph, inputs)
    let actual = try TestSupport.evaluate(decomposed, inputs)
    for (value, reference) in zip(actual, expected) {
      #expect(value.dtype == .f16)
      #expect(TestSupport.toleranceRatio(value, reference, atol: 1e-2, rtol: 1e-2) <= 1)
    }
  }
}
