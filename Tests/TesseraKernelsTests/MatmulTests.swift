import TesseraCPU
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
  /// Register blockings: the library's default (fitted to each shape) and a small odd one.
  static let blockings = [MatmulBlocking(), MatmulBlocking(rows: 3, lanes: 4, workgroup: [2, 3])]
  /// Shapes for the register-blocked kernel: tails in rows and columns, exact multiples of the
  /// blocks (the vector-store path), batches with shared and separate `b`, a long K.
  static let blockedShapes: [(Int, Int, Int, Int, Bool)] =
    shapes + [(2, 16, 32, 8, false), (1, 9, 48, 3, false), (2, 11, 70, 13, true)]

  /// The scalars of a `[batch][m][k] x [batch][k][n]` (or shared `[k][n]`) matmul launch.
  static func scalars(_ shape: (Int, Int, Int, Int, Bool)) -> [String: Double] {
    let (batch, m, n, k, shared) = shape
    return [
      "m": Double(m), "n": Double(n), "k": Double(k), "batch": Double(batch), "stride_a": Double(m * k),
      "stride_b": shared ? 0 : Double(k * n),
    ]
  }

  /// Runs an f32 or f16 matmul kernel with `run` (the interpreter by default) and compares it
  /// with the reference `matmul` (numpy semantics, the shared `b` broadcast over the batch).
  static func check(
    _ shape: (Int, Int, Int, Int, Bool), _ kernel: Kernel, dtype: DType, atol: Double, rtol: Double,
    run: (Kernel, [Tensor], [String: Double]) throws -> Tensor = { try KernelCheck.run($0, $1, $2, result: 2) }
  ) throws {
    let (batch, m, n, k, shared) = shape
    let a = KernelCheck.random(dtype, [batch, m, k], seed: 1)
    let b = KernelCheck.random(dtype, shared ? [k, n] : [batch, k, n], seed: 2)
    let c = try run(kernel, [a, b, KernelCheck.output(batch * m * n, dtype)], scalars(shape))
    let expected = try KernelCheck.reference([a, b]) { g, x in g.matmul(x[0], x[1]) }
    KernelCheck.expectClose(c, expected, atol: atol, rtol: rtol)
  }

  @Test("f32 matmul matches the reference", arguments: shapes, configs)
  func f32(shape: (Int, Int, Int, Int, Bool), config: MatmulConfig) throws {
    let kernel = try TesseraKernels.matmul(config: config)
    try Self.check(shape, kernel, dtype: .f32, atol: KernelCheck.sumTolerance(shape.3), rtol: 1e-4)
  }

  /// f16 results are rounded once to f16 (relative step 2^-10) from slightly different f32 sums,
  /// so they may land one f16 step away from the reference's rounding of its exact sum.
  @Test("f16 matmul matches the reference", arguments: shapes.prefix(4), configs)
  func f16(shape: (Int, Int, Int, Int, Bool), config: MatmulConfig) throws {
    let kernel = try TesseraKernels.matmul(config: config, dtype: .f16)
    try Self.check(shape, kernel, dtype: .f16, atol: 2e-3, rtol: 2e-3)
  }

  @Test("register-blocked f32 matmul matches the reference", arguments: blockedShapes, blockings)
  func blockedF32(shape: (Int, Int, Int, Int, Bool), blocking: MatmulBlocking) throws {
    let kernel = try TesseraKernels.blockedMatmul(blocking.fitted(m: shape.1, n: shape.2))
    try Self.check(shape, kernel, dtype: .f32, atol: KernelCheck.sumTolerance(shape.3), rtol: 1e-4)
  }

  @Test("register-blocked f16 matmul matches the reference", arguments: blockedShapes.suffix(4), blockings)
  func blockedF16(shape: (Int, Int, Int, Int, Bool), blocking: MatmulBlocking) throws {
    let kernel = try TesseraKernels.blockedMatmul(blocking.fitted(m: shape.1, n: shape.2), dtype: .f16)
    try Self.check(shape, kernel, dtype: .f16, atol: 2e-3, rtol: 2e-3)
  }

  /// The cpu backend's vectorised KIR executor (its host fallback for library kernels).
  @Test("register-blocked matmul on the vectorised KIR executor", arguments: blockedShapes, [DType.f32, .f16])
  func blockedOnVectorExecutor(shape: (Int, Int, Int, Int, Bool), dtype: DType) throws {
    let kernel = try TesseraKernels.blockedMatmul(MatmulBlocking().fitted(m: shape.1, n: shape.2), dtype: dtype)
    let tolerance = dtype == .f16 ? 2e-3 : KernelCheck.sumTolerance(shape.3)
    try Self.check(shape, kernel, dtype: dtype, atol: tolerance, rtol: dtype == .f16 ? 2e-3 : 1e-4) {
      kernel, buffers, scalars in
      try CPUKernelRunner().run(KernelCall(kernel: kernel, buffers: [], scalars: scalars), buffers: buffers)[2]
    }
  }

  @Test("a blocking is fitted to small results")
  func fitting() throws {
    let fitted = MatmulBlocking().fitted(m: 3, n: 13)
    #expect(fitted.rows == 3 && fitted.lanes == 8 && fitted.workgroup == [4, 16])
    #expect(MatmulBlocking().fitted(m: 0, n: 0).rows == 1 && MatmulBlocking().fitted(m: 0, n: 0).lanes == 1)
    #expect(MatmulBlocking(rows: 2, lanes: 4).fitted(m: 100, n: 100) == MatmulBlocking(rows: 2, lanes: 4))
    #expect(throws: KIRError.self) { try TesseraKernels.blockedMatmul(MatmulBlocking(lanes: 3)) }
  }

  @Test("fused epilogue: relu(a @ b + bias) + residual", arguments: [false, true])
  func epilogue(blocked: Bool) throws {
    let (batch, m, n, k) = (2, 7, 33, 9)
    let a = KernelCheck.random(.f32, [batch, m, k], seed: 3), b = KernelCheck.random(.f32, [batch, k, n], seed: 4)
    let bias = KernelCheck.random(.f32, [n], seed: 5), residual = KernelCheck.random(.f32, [batch, m, n], seed: 6)
    let epilogue = MatmulEpilogue(buffers: [("bias", .f32), ("residual", .f32)]) {
      builder, sum, extras, row, column, index in
      let (rows, columns) = (builder.scalarValue("m"), builder.scalarValue("n"))
      let activated = builder.max(sum + extras[0][column], builder.f32(0))
      return activated + extras[1][(index * rows + row) * columns + column]
    }
    let kernel =
      blocked
      ? try TesseraKernels.blockedMatmul(MatmulBlocking(rows: 2, lanes: 8, workgroup: [2, 2]), epilogue: epilogue)
      : try TesseraKernels.matmul(config: MatmulConfig(tileM: 4, tileN: 8, tileK: 4), epilogue: epilogue)
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
