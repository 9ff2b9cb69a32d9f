import TesseraCompiler
import TesseraIR

/// Shape of ``TesseraKernels/quantizedMatVec(weights:config:)``: one workgroup of
/// `workgroupSize` lanes per output element.
public struct MatVecConfig: Hashable, Sendable {
  /// Lanes per output element; a power of two.
  public var workgroupSize: Int
  /// Elements of `x` and `w` each lane loads at once for f32/f16 weights (1, 2, 4, 8 or 16);
  /// quantized weights are always read element by element.
  public var vectorWidth: Int

  /// 64 lanes reading 4 elements at a time by default.
  public init(workgroupSize: Int = 64, vectorWidth: Int = 4) {
    self.workgroupSize = workgroupSize
    self.vectorWidth = vectorWidth
  }
}

/// The weight dtypes the quantized matmuls accept.
private let weightDTypes: [DType] = [.q4_0, .q4_1, .q8_0, .f32, .f16]

extension TesseraKernels {
  /// `y = x @ w^T` with weights in GGUF layout, as a tiled matrix-matrix product (prefill).
  ///
  /// - Buffers: `x` f32 [M][K] read, `w` `weights` [N][K] read (for q4_0/q4_1/q8_0, each row is
  ///   K/32 blocks, so K must be a multiple of 32; read through `load_dequant`), `y` f32 [M][N]
  ///   write.
  /// - Scalars (i32): `m`, `n`, `k`.
  /// - Launch: global `[n, m]`, workgroup `[config.tileN, config.tileM]`.
  /// - Semantics: `y[i][j] = sum_k x[i][k] * w[j][k]`, accumulated in f32.
  public static func quantizedMatmul(weights: DType, config: MatmulConfig = MatmulConfig()) throws(KIRError) -> Kernel {
    let name = "quantized_matmul_\(weights)"
    try checkDType(weights, weightDTypes, kernel: name, "weights")
    let (builder, x, w, y, m, n, k) = quantizedSignature(name, weights, comment: "y = x @ w^T, tiled")
    builder.launch(global: [.scalar("n"), .scalar("m")], workgroup: [config.tileN, config.tileM])
    let zero = builder.i32(0)
    let gemm = TiledGEMM(a: x, b: w, transposedB: true, m: m, n: n, k: k, aBase: zero, bBase: zero)
    gemm.emit(builder, config) { sum, row, column in y[row * n + column] = sum }
    return try builder.finish()
  }

  /// `y = x @ w^T` with weights in GGUF layout, one workgroup per output element: the decode
  /// (M == 1) matrix-vector product, correct for any M.
  ///
  /// - Buffers and scalars: as ``quantizedMatmul(weights:config:)``.
  /// - Launch: global `[config.workgroupSize * n, m]`, workgroup `[config.workgroupSize, 1]`;
  ///   group `(j, i)` computes `y[i][j]`: its lanes stride over K (in vectors of
  ///   `config.vectorWidth` for f32/f16 weights, with a scalar tail), then sum through a
  ///   workgroup-shared tree.
  public static func quantizedMatVec(weights: DType, config: MatVecConfig = MatVecConfig()) throws(KIRError) -> Kernel {
    let name = "quantized_matvec_\(weights)"
    try checkDType(weights, weightDTypes, kernel: name, "weights")
    try checkPowerOfTwo(config.workgroupSize, kernel: name)
    guard [1, 2, 4, 8, 16].contains(config.vectorWidth) else {
      throw .invalid(kernel: name, detail: "vector width \(config.vectorWidth) is not 1, 2, 4, 8 or 16")
    }
    let (builder, x, w, y, _, n, k) = quantizedSignature(name, weights, comment: "y = x @ w^T, one group per output")
    let width = config.workgroupSize
    builder.launch(global: [.product(.constant(width), .scalar("n")), .scalar("m")], workgroup: [width, 1])
    let lane = builder.localID(0), column = builder.groupID(0), row = builder.groupID(1)
    let tree = WorkgroupTree(builder, name: "partial", dtypes: [.f32], width: width, lane: lane)
    let xBase = row * k, wBase = column * k
    let vector = weights.isQuantized ? 1 : config.vectorWidth
    var sum = builder.f32(0)
    var tailStart = builder.i32(0)
    if vector > 1 {
      let chunks = k / Double(vector)
      sum = builder.fold(sum, from: lane, to: chunks, step: width) { total, chunk in
        let offset = chunk * Double(vector)
        let products = x.load(xBase + offset, lanes: vector) * w.load(wBase + offset, lanes: vector).cast(DType.f32)
        return total + products.reduceLanes(.add)
      }
      tailStart = chunks * Double(vector)
    }
    sum = builder.fold(sum, from: tailStart + lane, to: k, step: width) { total, j in
      total + x[xBase + j] * builder.loadF32(w, wBase + j)
    }
    let total = tree.sum(sum)
    builder.if(lane.lt(builder.i32(1))) { y[row * n + column] = total }
    return try builder.finish()
  }

  /// Declares the buffers `x`, `w`, `y` and scalars `m`, `n`, `k` shared by the quantized matmuls.
  private static func quantizedSignature(_ name: String, _ weights: DType, comment: String) -> (
    KernelBuilder, KBufferRef, KBufferRef, KBufferRef, KExpr, KExpr, KExpr
  ) {
    let builder = KernelBuilder(name: name, comment: comment)
    let x = builder.buffer("x", .f32, .read), w = builder.buffer("w", weights, .read)
    let y = builder.buffer("y", .f32, .write)
    return (builder, x, w, y, builder.scalar("m"), builder.scalar("n"), builder.scalar("k"))
  }
}
