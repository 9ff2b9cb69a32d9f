import TesseraCPU
import TesseraCompiler
import TesseraIR
import TesseraRuntime
import TesseraTestSupport
import Testing

/// Running library kernels on the KIR interpreter and their graph equivalents on the reference
/// evaluator.
enum KernelCheck {
  /// A random tensor of `dtype` and `shape` (floats uniform in [-1, 1)).
  static func random(_ dtype: DType, _ shape: Shape, seed: UInt64, integerBound: Int = 4) -> Tensor {
    var generator = SeededRandom(seed: seed)
    return Tensor.random(TensorType(dtype, shape), integerBound: integerBound, using: &generator)
  }

  /// An output buffer of `count` elements filled with a value no kernel result should keep by
  /// accident (NaN for floats, -7 for integers), so an unwritten element fails the comparison.
  static func output(_ count: Int, _ dtype: DType = .f32) -> Tensor {
    Tensor(repeating: dtype.isFloatingPoint ? .nan : -7, shape: [count], dtype: dtype)
  }

  /// Runs `kernel` on the interpreter; returns the buffer at `result` (flat).
  static func run(_ kernel: Kernel, _ buffers: [Tensor], _ scalars: [String: Double], result: Int) throws -> Tensor {
    try KIRInterpreter.run(kernel, buffers: buffers, scalars: scalars)[result]
  }

  /// Evaluates the graph `body` builds over arguments of the types of `inputs` on the reference
  /// evaluator and returns its single result.
  static func reference(_ inputs: [Tensor], _ body: (GraphBuilder, [ValueID]) -> ValueID) throws -> Tensor {
    let builder = GraphBuilder(name: "reference")
    let arguments = inputs.enumerated().map { index, input in builder.argument("in\(index)", input.type) }
    let graph = try builder.finish(returning: [body(builder, arguments)])
    return try TestSupport.evaluate(graph, inputs)[0]
  }

  /// Expects `actual` (flat) to match `expected` element by element within `atol + rtol * |expected|`.
  static func expectClose(
    _ actual: Tensor, _ expected: Tensor, atol: Double = 1e-5, rtol: Double = 1e-4,
    sourceLocation: Testing.SourceLocation = #_sourceLocation
  ) {
    #expect(actual.shape.count == expected.shape.count, sourceLocation: sourceLocation)
    let ratio = TestSupport.toleranceRatio(actual, expected, atol: atol, rtol: rtol)
    #expect(ratio <= 1, "worst error is \(ratio) times the tolerance", sourceLocation: sourceLocation)
  }

  /// The absolute tolerance of an f32 sum of `count` terms of magnitude about 1 compared with a
  /// double-accumulated reference: rounding errors of the f32 accumulation grow about like
  /// `sqrt(count)`, and its order differs from the reference's (trees, strides, tiles).
  static func sumTolerance(_ count: Int) -> Double { 1e-5 * Double(count).squareRoot().rounded(.up) }
}
