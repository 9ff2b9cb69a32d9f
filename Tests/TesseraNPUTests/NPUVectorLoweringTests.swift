import TesseraCPU
import TesseraCompiler
import TesseraIR
import TesseraNPU
import TesseraRuntime
import TesseraTestSupport
import Testing

/// Reductions, the decomposed softmax and norms, and dequantization on the vector unit, against
/// the reference evaluator: every kernel step must run as an NPU program (none on the host).
@Suite("NPU vector-unit lowering")
struct NPUVectorLoweringTests {
  /// Runs `text` on the npu and the reference with seeded inputs; checks that every kernel ran
  /// on the NPU and returns (actual, expected, inputs).
  private func run(_ text: String, seed: UInt64 = 7) throws -> (Tensor, Tensor, [Tensor]) {
    let graph = try TestSupport.parseOne(text)
    var generator = SeededRandom(seed: seed)
    let inputs = graph.argumentTypes.map { Tensor.random($0, using: &generator) }
    let device = npuDevice()
    let lowered = try device.programs(graph)
    let kernels = lowered.plan.steps.filter { $0.call != nil }
    #expect(kernels.allSatisfy { $0.device == "npu" }, "\(kernels.map { ($0.device, $0.fallbackReason) })")
    #expect(lowered.programs.count == kernels.count, "\(lowered.hostSteps)")
    return (try device.compile(graph).run(inputs: inputs)[0], try TestSupport.evaluate(graph, inputs)[0], inputs)
  }

  private static func function(_ argument: String, _ result: String, _ body: String) -> String {
    "func @f(\(argument)) -> \(result) {\n\(body)\n  return %y\n}\n"
  }

  /// Odd sizes, several axes, keepdims, a prologue and an epilogue, a row longer than a UB slot
  /// (reduced in chunks), f16.
  static let reductions: [String] = [
    function("%x: f32[5,37]", "f32[5]", "  %y = reduce_sum %x {axes = [1]} : f32[5]"),
    function("%x: f32[3,7,9]", "f32[7]", "  %y = reduce_max %x {axes = [0, 2]} : f32[7]"),
    function("%x: f32[6,5]", "f32[1,5]", "  %y = reduce_min %x {axes = [0], keepdims = true} : f32[1,5]"),
    function("%x: f32[2,3,11]", "f32[]", "  %y = reduce_mean %x : f32[]"),
    function(
      "%x: f32[13,29], %b: f32[13,1]", "f32[13,1]",
      "  %s = mul %x, %x : f32[13,29]\n  %m = reduce_mean %s {axes = [-1], keepdims = true} : f32[13,1]\n  %r = rsqrt %m : f32[13,1]\n  %y = add %r, %b : f32[13,1]"
    ),
    function(
      "%x: f32[2,20001]", "f32[2]",
      "  %a = abs %x : f32[2,20001]\n  %y = reduce_sum %a {axes = [1]} : f32[2]"),
    function("%x: f32[3,20001]", "f32[3]", "  %y = reduce_max %x {axes = [1]} : f32[3]"),
    function("%x: f16[9,33]", "f16[9]", "  %y = reduce_sum %x {axes = [1]} : f16[9]"),
  ]

  @Test("reductions", arguments: reductions)
  func reduction(text: String) throws {
    let (actual, expected, _) = try run(text)
    let tolerance = expected.dtype == .f16 ? 2e-3 : 2e-5
    #expect(TestSupport.toleranceRatio(actual, expected, atol: tolerance, rtol: tolerance * 10) <= 1)
  }

  static let composites: [String] = [
    function("%x: f32[7,33]", "f32[7,33]", "  %y = softmax %x {axis = -1} : f32[7,33]"),
    function("%x: f32[5,3,6]", "f32[5,3,6]", "  %y = softmax %x {axis = 1} : f32[5,3,6]"),
    function("%x: f16[3,70]", "f16[3,70]", "  %y = softmax %x {axis = -1} : f16[3,70]"),
    function(
      "%x: f32[6,45], %w: f32[45]", "f32[6,45]", "  %y = rms_norm %x, %w {axis = -1, epsilon = 1.0e-06} : f32[6,45]"),
    function(
      "%x: f32[4,19], %w: f32[19], %b: f32[19]", "f32[4,19]",
      "  %y = layer_norm %x, %w, %b {epsilon = 1.0e-05} : f32[4,19]"),
  ]

  @Test("softmax, rms_norm and layer_norm run entirely on the NPU", arguments: composites)
  func composite(text: String) throws {
    let (actual, expected, _) = try run(text)
    // f32: the decomposition agrees with the fused reference within 1e-5 relative (see
    // DecomposeComposites); f16 rounds after every op of the decomposition.
    let (atol, rtol) = expected.dtype == .f16 ? (4e-3, 2e-2) : (2e-5, 2e-4)
    #expect(TestSupport.toleranceRatio(actual, expected, atol: atol, rtol: rtol) <= 1)
  }

  @Test("dequantization is exact", arguments: ["q4_0", "q4_1", "q8_0"])
  func dequantize(format: String) throws {
    let (actual, expected, _) = try run(
      Self.function("%w: \(format)[5,96]", "f32[5,96]", "  %y = dequantize %w : f32[5,96]"))
    #expect(actual.doubles == expected.doubles)
  }

  /// The form of every Llama weight: the group is tiled in the weight's order (whole blocks per
  /// tile) and stored transposed. Rows longer than a UB slot and odd row counts included.
  @Test(
    "a transposed dequantized weight is dequantized in place and stored transposed",
    arguments: ["q4_0", "q4_1", "q8_0"], [(5, 96), (37, 64), (3, 20_480)])
  func transposedDequantize(format: String, shape: (rows: Int, columns: Int)) throws {
    let (n, k) = shape
    let (actual, expected, _) = try run(
      Self.function(
        "%w: \(format)[\(n),\(k)]", "f32[\(k),\(n)]",
        "  %d = dequantize %w : f32[\(n),\(k)]\n  %y = transpose %d {perm = [1, 0]} : f32[\(k),\(n)]"))
    #expect(actual.doubles == expected.doubles)
  }

  @Test("quantized matmuls stay on the NPU", arguments: ["q4_0", "q4_1", "q8_0"])
  func quantizedMatmul(format: String) throws {
    let (actual, expected, inputs) = try run(
      Self.function(
        "%x: f32[3,64], %w: \(format)[64,40]", "f32[3,40]",
        "  %d = dequantize %w : f32[64,40]\n  %y = matmul %x, %d : f32[3,40]"))
    // The cube bound: 2^-10 · (|x| @ |dequantize(w)|), from the reference on absolute values.
    let weights = try TestSupport.evaluate(
      TestSupport.parseOne(Self.function("%w: \(format)[64,40]", "f32[64,40]", "  %y = dequantize %w : f32[64,40]")),
      [inputs[1]])[0]
    let absolute = [inputs[0], weights].map { Tensor($0.doubles.map(Swift.abs), shape: $0.shape, dtype: .f32) }
    let bound = try TestSupport.evaluate(
      TestSupport.parseOne(
        Self.function("%x: f32[3,64], %w: f32[64,40]", "f32[3,40]", "  %y = matmul %x, %w : f32[3,40]")),
      absolute)[0].doubles
    for (index, (found, wanted)) in zip(actual.doubles, expected.doubles).enumerated() {
      #expect(Swift.abs(found - wanted) <= bound[index] / 1024 + 1e-6, "element \(index): \(found) vs \(wanted)")
    }
  }
}
