import TesseraCPU
import TesseraIR
import TesseraRuntime
import TesseraTestSupport
import Testing

/// Every op example on the reference evaluator against numpy computing the same thing in float64.
@Suite("Reference evaluator vs numpy")
struct ReferenceVersusNumpyTests {
  @Test(
    "every op example",
    .enabled(
      if: TestSupport.numpyAvailable, "python3 with numpy is not installed (scripts/install-system-deps.sh installs it)"
    ), arguments: OpExample.all.filter { $0.numpy != nil })
  func matchesNumpy(example: OpExample) throws {
    let graph = try TestSupport.parseOne(example.text)
    var generator = SeededRandom(seed: UInt64(example.description.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) }))
    let inputs = graph.argumentTypes.map { Tensor.random($0, integerBound: 2, using: &generator) }
    let actual = try TestSupport.evaluate(graph, inputs)[0]
    let expected = try #require(try TestSupport.numpy(example.numpy!, inputs: inputs))
    #expect(actual.shape == expected.shape)
    let ratio = TestSupport.toleranceRatio(actual, expected, atol: example.atol, rtol: example.rtol)
    #expect(ratio <= 1, "\(example): got \(actual.preview(limit: 6)), numpy \(expected.preview(limit: 6))")
  }
}

/// Values derived by hand, so that the oracle is checked without numpy too.
@Suite("Reference evaluator, hand-derived values")
struct ReferenceHandDerivedTests {
  private func run(_ text: String, _ inputs: [Tensor]) throws -> [Tensor] {
    try TestSupport.evaluate(try TestSupport.parseOne(text), inputs)
  }

  @Test func broadcastAddAndSilu() throws {
    let text =
      "func @f(%a: f32[2,2], %b: f32[2]) -> f32[2,2] {\n  %s = add %a, %b : f32[2,2]\n  %y = silu %s : f32[2,2]\n  return %y\n}"
    let result = try run(text, [Tensor([0, 1, 2, 3], shape: [2, 2]), Tensor([0, -1], shape: [2])])
    // s = [[0, 0], [2, 2]]; silu(0) = 0, silu(2) = 2 / (1 + e^-2) = 1.7615942
    #expect(result[0].floats == [0, 0, 1.7615942, 1.7615942])
  }

  @Test func matmulSmall() throws {
    let text = "func @f(%a: f32[2,3], %b: f32[3,2]) -> f32[2,2] {\n  %y = matmul %a, %b : f32[2,2]\n  return %y\n}"
    let result = try run(
      text, [Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3]), Tensor([7, 8, 9, 10, 11, 12], shape: [3, 2])])
    #expect(result[0].floats == [58, 64, 139, 154])
  }

  @Test func softmaxOfEqualValuesIsUniform() throws {
    let text = "func @f(%x: f32[1,4]) -> f32[1,4] {\n  %y = softmax %x {axis = 1} : f32[1,4]\n  return %y\n}"
    #expect(try run(text, [Tensor(repeating: 3, shape: [1, 4])])[0].floats == [0.25, 0.25, 0.25, 0.25])
  }

  @Test func rmsNormOfConstantRow() throws {
    // x = [2, 2, 2, 2]: mean(x²) = 4, x / sqrt(4 + 0) = 1, times w.
    let text =
      "func @f(%x: f32[4], %w: f32[4]) -> f32[4] {\n  %y = rms_norm %x, %w {epsilon = 0.0} : f32[4]\n  return %y\n}"
    #expect(
      try run(text, [Tensor(repeating: 2, shape: [4]), Tensor([1, 2, 3, 4], shape: [4])])[0].floats == [1, 2, 3, 4])
  }

  @Test func ropeQuarterTurn() throws {
    // dim 2, theta irrelevant for i = 0: angle = position. Position pi/2 rotates (1, 0) to (0, 1).
    let text = "func @f(%x: f32[1,2], %p: i32[1]) -> f32[1,2] {\n  %y = rope %x, %p : f32[1,2]\n  return %y\n}"
    let zero = try run(text, [Tensor([1, 0], shape: [1, 2]), Tensor([0], shape: [1], dtype: .i32)])[0].floats
    #expect(zero == [1, 0])
    let one = try run(text, [Tensor([1, 0], shape: [1, 2]), Tensor([1], shape: [1], dtype: .i32)])[0].floats
    #expect(Swift.abs(one[0] - 0.5403023) < 1e-6 && Swift.abs(one[1] - 0.84147098) < 1e-6)
  }

  @Test func argmaxTakesFirstMaximumAndNaN() throws {
    let text = "func @f(%x: f32[2,4]) -> i32[2] {\n  %y = argmax %x {axis = 1} : i32[2]\n  return %y\n}"
    let result = try run(text, [Tensor([1, 5, 5, 0, 1, .nan, 9, .nan], shape: [2, 4])])
    #expect(result[0].doubles == [1, 1])
  }

  @Test func integerDivisionFloorsLikeNumpy() throws {
    let text = "func @f(%a: i32[4], %b: i32[4]) -> i32[4] {\n  %y = div %a, %b : i32[4]\n  return %y\n}"
    let result = try run(
      text, [Tensor([7, -7, 7, 5], shape: [4], dtype: .i32), Tensor([2, 2, -2, 0], shape: [4], dtype: .i32)])
    #expect(result[0].doubles == [3, -4, -4, 0])
  }

  @Test func dequantizeInAGraph() throws {
    // q8_0 block with scale 2 (f16 0x4000) and quants 0, 1, …, 31.
    let bytes: [UInt8] = [0x00, 0x40] + (0..<32).map { UInt8($0) }
    let text = "func @f(%w: q8_0[32]) -> f32[32] {\n  %y = dequantize %w : f32[32]\n  return %y\n}"
    let result = try run(text, [Tensor(type: TensorType(.q8_0, [32]), bytes: bytes)!])
    #expect(result[0].floats == (0..<32).map { Float($0 * 2) })
  }

  @Test func gatherOutOfRangeIsAnErrorNamingTheOp() throws {
    let text = "func @f(%t: f32[3,2], %i: i32[2]) -> f32[2,2] {\n  %rows = gather %t, %i : f32[2,2]\n  return %rows\n}"
    #expect(
      throws: DeviceError.execution(op: .gather, value: "rows", message: "index 3 is out of range for axis 0 of size 3")
    ) {
      try run(text, [Tensor(repeating: 1, shape: [3, 2]), Tensor([0, 3], shape: [2], dtype: .i32)])
    }
    // Negative indices count from the end, as in numpy.
    let negative = try run(
      text, [Tensor([0, 1, 2, 3, 4, 5], shape: [3, 2]), Tensor([-1, 0], shape: [2], dtype: .i32)])
    #expect(negative[0].floats == [4, 5, 0, 1])
  }

  @Test func f16ResultsAreRoundedEveryOp() throws {
    // 2048 + 1 is not representable in f16 (spacing 2 there): the sum rounds to 2048 (ties to even).
    let text = "func @f(%a: f16[1], %b: f16[1]) -> f16[1] {\n  %y = add %a, %b : f16[1]\n  return %y\n}"
    let result = try run(text, [Tensor([2048], shape: [1], dtype: .f16), Tensor([1], shape: [1], dtype: .f16)])
    #expect(result[0].doubles == [2048])
  }

  @Test(
    "batched matmul equals an independent triple loop",
    arguments: [(1, 1, 1, 1), (3, 7, 5, 2), (2, 33, 17, 1), (1, 64, 64, 3)])
  func matmulAgainstNaiveLoop(m: Int, k: Int, n: Int, batch: Int) throws {
    let b = GraphBuilder(name: "mm")
    let x = b.argument("x", .f32, [batch, m, k])
    let y = b.argument("y", .f32, [k, n])
    let graph = try b.finish(returning: [b.matmul(x, y)])
    var generator = SeededRandom(seed: 7)
    let inputs = graph.argumentTypes.map { Tensor.random($0, using: &generator) }
    let actual = try TestSupport.evaluate(graph, inputs)[0].floats
    let a = inputs[0].doubles, w = inputs[1].doubles
    for bi in 0..<batch {
      for i in 0..<m {
        for j in 0..<n {
          var sum = 0.0
          for p in 0..<k { sum += a[(bi * m + i) * k + p] * w[p * n + j] }
          #expect(Swift.abs(Double(actual[(bi * m + i) * n + j]) - sum) <= 1e-5 * Swift.max(1, Swift.abs(sum)))
        }
      }
    }
  }
}
