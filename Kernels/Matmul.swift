import TesseraCompiler
import TesseraIR

/// Work fused into a matmul's store: extra read buffers and a function of the f32 accumulator.
public struct MatmulEpilogue {
  /// Extra read-only buffers, appended after `c` in this order.
  public var buffers: [(name: String, dtype: DType)]
  /// Maps `(builder, accumulator, extras, row, column, batch)` to the f32 value stored (after
  /// conversion to `c`'s dtype) at `c[batch][row][column]`. `extras` are the buffers above;
  /// `row`, `column` and `batch` are i32 and inside the result.
  public var apply:
    (
      KernelBuilder, _ accumulator: KExpr, _ extras: [KBufferRef], _ row: KExpr, _ column: KExpr,
      _ batch: KExpr
    ) -> KExpr

  /// An epilogue reading `buffers` and computing `apply`.
  public init(
    buffers: [(name: String, dtype: DType)],
    apply: @escaping (KernelBuilder, KExpr, [KBufferRef], KExpr, KExpr, KExpr) -> KExpr
  ) {
    self.buffers = buffers
    self.apply = apply
  }
}

extension TesseraKernels {
  /// Batched tiled GEMM: `c[b] = a[b] @ b[b]` (numpy matmul of row-major matrices), accumulated
  /// in f32, with an optional fused epilogue.
  ///
  /// - Buffers: `a` `dtype` [batch][M][K] read, `b` `dtype` [batch][K][N] read, `c` `dtype`
  ///   [batch][M][N] write, then the epilogue's buffers (read) in order.
  /// - Scalars (i32): `m`, `n`, `k`, `batch`, `stride_a`, `stride_b` — elements between
  ///   consecutive batches of `a` and `b`; 0 shares the operand across batches. `c`'s batch
  ///   stride is `m * n`.
  /// - Launch: global `[n, m, batch]` (rounded up to whole tiles), workgroup
  ///   `[config.tileN, config.tileM, 1]`; one work-item per result element.
  /// - `dtype`: f32 or f16.
  public static func matmul(config: MatmulConfig = MatmulConfig(), dtype: DType = .f32, epilogue: MatmulEpilogue? = nil)
    throws(KIRError) -> Kernel
  {
    let name = "matmul_\(dtype)"
    try checkDType(dtype, [.f32, .f16], kernel: name, "matmul dtype")
    let builder = KernelBuilder(name: name, comment: "c[batch] = a[batch] @ b[batch], f32 accumulation")
    let a = builder.buffer("a", dtype, .read), b = builder.buffer("b", dtype, .read)
    let c = builder.buffer("c", dtype, .write)
    let extras = (epilogue?.buffers ?? []).map { builder.buffer($0.name, $0.dtype, .read) }
    let m = builder.scalar("m"), n = builder.scalar("n"), k = builder.scalar("k")
    _ = builder.scalar("batch")
    let strideA = builder.scalar("stride_a"), strideB = builder.scalar("stride_b")
    builder.launch(
      global: [.scalar("n"), .scalar("m"), .scalar("batch")], workgroup: [config.tileN, config.tileM, 1])
    let batch = builder.globalID(2)
    let gemm = TiledGEMM(
      a: a, b: b, transposedB: false, m: m, n: n, k: k, aBase: batch * strideA, bBase: batch * strideB)
    gemm.emit(builder, config) { sum, row, column in
      let value = epilogue?.apply(builder, sum, extras, row, column, batch) ?? sum
      c[(batch * m + row) * n + column] = value.cast(dtype)
    }
    return try builder.finish()
  }
}
