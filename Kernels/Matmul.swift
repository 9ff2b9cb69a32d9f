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
  /// in f32, with an optional fused epilogue. Each workgroup stages slices of A and B in
  /// workgroup-shared memory and each work-item computes one result;
  /// ``blockedMatmul(_:dtype:epilogue:)`` is the faster register-blocked form the library uses.
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
    let p = try MatmulParameters(dtype: dtype, epilogue: epilogue, comment: "f32 accumulation")
    let builder = p.builder
    builder.launch(
      global: [.scalar("n"), .scalar("m"), .scalar("batch")], workgroup: [config.tileN, config.tileM, 1])
    let batch = builder.globalID(2)
    let gemm = TiledGEMM(
      a: p.a, b: p.b, transposedB: false, m: p.m, n: p.n, k: p.k, aBase: batch * p.strideA, bBase: batch * p.strideB)
    gemm.emit(builder, config) { sum, row, column in p.store(sum, row: row, column: column, batch: batch) }
    return try builder.finish()
  }
}

/// The parameters every batched matmul kernel declares, in its argument order (see
/// ``TesseraKernels/matmul(config:dtype:epilogue:)``), and its epilogue-applying store.
struct MatmulParameters {
  let builder: KernelBuilder
  let dtype: DType
  let epilogue: MatmulEpilogue?
  let a: KBufferRef, b: KBufferRef, c: KBufferRef
  let extras: [KBufferRef]
  let m: KExpr, n: KExpr, k: KExpr, strideA: KExpr, strideB: KExpr

  /// Starts a kernel `matmul_<dtype>` whose comment ends with `comment`.
  init(dtype: DType, epilogue: MatmulEpilogue?, comment: String) throws(KIRError) {
    let name = "matmul_\(dtype)"
    try checkDType(dtype, [.f32, .f16], kernel: name, "matmul dtype")
    let builder = KernelBuilder(name: name, comment: "c[batch] = a[batch] @ b[batch], " + comment)
    self.builder = builder
    self.dtype = dtype
    self.epilogue = epilogue
    a = builder.buffer("a", dtype, .read)
    b = builder.buffer("b", dtype, .read)
    c = builder.buffer("c", dtype, .write)
    extras = (epilogue?.buffers ?? []).map { builder.buffer($0.name, $0.dtype, .read) }
    m = builder.scalar("m")
    n = builder.scalar("n")
    k = builder.scalar("k")
    _ = builder.scalar("batch")
    strideA = builder.scalar("stride_a")
    strideB = builder.scalar("stride_b")
  }

  /// Stores the f32 `sum` (through the epilogue) at `c[batch][row][column]`, inside the result.
  func store(_ sum: KExpr, row: KExpr, column: KExpr, batch: KExpr) {
    let value = epilogue?.apply(builder, sum, extras, row, column, batch) ?? sum
    c[(batch * m + row) * n + column] = value.cast(dtype)
  }
}
