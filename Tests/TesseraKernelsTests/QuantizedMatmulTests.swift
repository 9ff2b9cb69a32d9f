import TesseraCompiler
import TesseraIR
import TesseraKernels
import Testing

@Suite("Library kernels: quantized matmul and matvec")
struct QuantizedMatmulTests {
  static let weights: [DType] = [.q4_0, .q4_1, .q8_0, .f32, .f16]
  /// (m, n, k); K is a whole number of 32-element blocks for the quantized weights.
  static let shapes: [(Int, Int, Int)] = [(1, 1, 32), (1, 33, 64), (7, 5, 96), (1, 3, 1024)]

  /// The shapes for `weights`: plain weights also take a K that is not a multiple of 32.
  static func shapes(_ weights: DType) -> [(Int, Int, Int)] { shapes + (weights.isQuantized ? [] : [(2, 3, 1000)]) }

  /// Runs `kernel` on random `x` [m][k] and `w` [n][k] of `dtype`; the reference dequantizes (or
  /// widens) `w` and computes `x @ w^T`.
  private func check(_ kernel: Kernel, _ dtype: DType, _ shape: (Int, Int, Int)) throws {
    let (m, n, k) = shape
    let x = KernelCheck.random(.f32, [m, k], seed: 11), w = KernelCheck.random(dtype, [n, k], seed: 12)
    let y = try KernelCheck.run(
      kernel, [x, w, KernelCheck.output(m * n)], ["m": Double(m), "n": Double(n), "k": Double(k)], result: 2)
    let expected = try KernelCheck.reference([x, w]) { g, v in
      let weights =
        switch dtype {
        case .f32: v[1]
        case .f16: g.cast(v[1], to: .f32)
        default: g.dequantize(v[1])
        }
      return g.matmul(v[0], g.transpose(weights))
    }
    KernelCheck.expectClose(y, expected, atol: KernelCheck.sumTolerance(k), rtol: 1e-4)
  }

  /// The long output row (an LM head) runs with a narrow workgroup only, as the interpreter is slow.
  @Test("matrix-vector variant matches x @ dequantize(w)^T", arguments: weights)
  func matVec(weights: DType) throws {
    let vectorized = try TesseraKernels.quantizedMatVec(weights: weights)
    for shape in Self.shapes(weights) { try check(vectorized, weights, shape) }
    let narrow = try TesseraKernels.quantizedMatVec(
      weights: weights, config: MatVecConfig(workgroupSize: 8, vectorWidth: 2))
    for shape in Self.shapes(weights) + [(1, 1000, 32)] { try check(narrow, weights, shape) }
  }

  @Test("tiled variant matches x @ dequantize(w)^T", arguments: weights)
  func tiled(weights: DType) throws {
    let square = try TesseraKernels.quantizedMatmul(weights: weights)
    for shape in Self.shapes.prefix(3) { try check(square, weights, shape) }
    let small = try TesseraKernels.quantizedMatmul(
      weights: weights, config: MatmulConfig(tileM: 2, tileN: 8, tileK: 32))
    for shape in Self.shapes(weights) { try check(small, weights, shape) }
  }

  @Test("vector loads handle a K that is not a multiple of the vector width")
  func vectorTail() throws {
    let kernel = try TesseraKernels.quantizedMatVec(weights: .f32, config: MatVecConfig(workgroupSize: 8))
    for shape in [(1, 3, 7), (2, 5, 1), (1, 2, 1001)] { try check(kernel, .f32, shape) }
  }
}
