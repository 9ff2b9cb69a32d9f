import TesseraCompiler
import TesseraIR
import TesseraKernels
import Testing

@Suite("Library kernels: matmul")
struct MatmulTests {
  /// (batch, m, n, k, b shared by every batch).
  static let shapes: [(Int, Int, Int, Int, Bool)] = [
    (1, 1, 1, 1, false), (1, 7, 33, 5, false), (2, 33, 7, 17, false), (3, 5, 7, 9, true), (1, 3, 5, 1000, false),
  ]
  static let configs = [MatmulConfig(), MatmulConfig(tileM: 8, tileN: 4, tileK: 8)]

  /// Runs the f32 or f16 matmul and compares it with the reference `matmul` (numpy semantics,
  /// the shared `b` broadcast over the batch).
  private func check(
    _ shape: (Int, Int, Int, Int, Bool), _ config: MatmulConfig, dtype: DType, atol: Double, rtol: Double
  ) throws {
    let (batch, m, n, k, shared) = shape
    let a = KernelCheck.random(dtype, [batch, m, k], seed: 1)
    let b = KernelCheck.random(dtype, shared ? [k, n] : [batch, k, n], seed: 2)
    let kernel = try TesseraKernels.matmul(config: config, dtype: dtype)
    let c = try KernelCheck.run(
      kernel, [a, b, KernelCheck.output(batch * m * n, dtype)],
      [
        "m": Double(m), "n": Double(n), "k": Double(k), "batch": Double(batch), "stride_a": Double(m * k),
        "stride_b": shared ? 0 : Double(k * n),
      ], result: 2)
    let expected = try KernelCheck.reference([a, b]) { g, x in g.matmul(x[0], x[1]) }
    KernelCheck.expectClose(c, expected, atol: atol, rtol: rtol)
  }

  @Test("f32 matmul matches the reference", arguments: shapes, configs)
  func f32(shape: (Int, Int, Int, Int, Bool), config: MatmulConfig) throws {
    try check(shape, config, dtype: .f32, atol: KernelCheck.sumTolerance(shape.3), rtol: 1e-4)
  }

  /// f16 results are rounded once to f16 (relative step 2^-10) from slightly different f32 sums,
  /// so they may land one f16 step away from the reference's rounding of its exact sum.
  @Test("f16 matmul matches the reference", arguments: shapes.prefix(4), configs)
  func f16(shape: (Int, Int, Int, Int, Bool), config: MatmulConfig) throws {
    try check(shape, config, dtype: .f16, atol: 2e-3, rtol: 2e-3)
  }

  @Test("fused epilogue: relu(a @ b + bias) + residual")
  func epilogue() throws {
    let (batch, m, n, k) = (2, 7, 33, 9)
    let a = KernelCheck.random(.f32, [batch, m, k], seed: 3), b = KernelCheck.random(.f32, [batch, k, n], seed: 4)
    let bias = KernelCheck.random(.f32, [n], seed: 5), residual = KernelCheck.random(.f32, [batch, m, n], seed: 6)
    let epilogue = MatmulEpilogue(buffers: [("bias", .f32), ("residual", .f32)]) {
      builder, sum, extras, row, column, index in
      let (rows, columns) = (builder.scalarValue("m"), builder.scalarValue("n"))
      let activated = builder.max(sum + extras[0][column], builder.f32(0))
      return activated + extras[1][(index * rows + row) * columns + column]
    }
    let kernel = try TesseraKernels.matmul(config: MatmulConfig(tileM: 4, tileN: 8, tileK: 4), epilogue: epilogue)
    let c = try KernelCheck.run(
      kernel, [a, b, KernelCheck.output(batch * m * n), bias, residual],
      [
        "m": Double(m), "n": Double(n), "k": Double(k), "batch": Double(batch), "stride_a": Double(m * k),
        "stride_b": Double(k * n),
      ], result: 2)
    let expected = try KernelCheck.reference([a, b, bias, residual]) { g, x in
      g.add(g.relu(g.add(g.matmul(x[0], x[1]), x[2])), x[3])
    }
    KernelCheck.expectClose(c, expected, atol: KernelCheck.sumTolerance(k), rtol: 1e-4)
  }
}
