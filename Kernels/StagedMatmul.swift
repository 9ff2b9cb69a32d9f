import TesseraCompiler
import TesseraIR

extension TesseraKernels {
  /// Batched GEMM for GPUs: `c[b] = a[b] @ b[b]` like ``matmul(config:dtype:epilogue:)`` (same
  /// buffers, scalars and epilogue). Each workgroup stages a slice of A's block rows and B's block
  /// columns in shared memory, once for all its work-items, and each work-item multiplies
  /// `tiling.rows x tiling.columns` results in registers from them: `rows + columns` shared loads
  /// for `rows x columns` multiply-adds a step of K.
  ///
  /// A work-item's rows and columns are strided by the workgroup's extent (work-item `(x, y)`
  /// computes columns `x, x + workgroupColumns, …`), so neighbouring work-items read neighbouring
  /// shared words and store neighbouring results. A is staged transposed, `depth x (tileRows + 1)`:
  /// the padding word puts the `depth` elements of one row of A, written by neighbouring
  /// work-items, in distinct shared-memory banks. Elements outside the matrices stage as zero;
  /// results outside them are not stored.
  ///
  /// - Launch: global `[ceil(n / tileColumns) * workgroupColumns, ceil(m / tileRows) * workgroupRows,
  ///   batch]`, workgroup `[workgroupColumns, workgroupRows, 1]`.
  /// - `dtype`: f32 or f16 (staged and accumulated in f32).
  public static func stagedMatmul(
    _ tiling: MatmulTiling = MatmulTiling(), dtype: DType = .f32, epilogue: MatmulEpilogue? = nil
  ) throws(KIRError) -> Kernel {
    let p = try MatmulParameters(dtype: dtype, epilogue: epilogue, comment: "staged \(tiling), f32 accumulation")
    if let problem = tiling.problem(maxWorkgroupSize: .max, maxSharedBytes: .max) {
      throw .invalid(kernel: "matmul_\(dtype)", detail: problem)
    }
    let builder = p.builder
    let (tileRows, tileColumns, depth) = (tiling.tileRows, tiling.tileColumns, tiling.depth)
    builder.launch(
      global: [
        .product(.ceilDiv(.scalar("n"), tileColumns), .constant(tiling.workgroupColumns)),
        .product(.ceilDiv(.scalar("m"), tileRows), .constant(tiling.workgroupRows)), .scalar("batch"),
      ],
      workgroup: [tiling.workgroupColumns, tiling.workgroupRows, 1])
    let aStride = tileRows + 1
    let aSlice = builder.shared("a_slice", .f32, count: depth * aStride)
    let bSlice = builder.shared("b_slice", .f32, count: depth * tileColumns)
    let x = builder.localID(0), y = builder.localID(1), batch = builder.groupID(2)
    let rowBase = builder.groupID(1) * builder.i32(tileRows)
    let columnBase = builder.groupID(0) * builder.i32(tileColumns)
    let linear = y * builder.i32(tiling.workgroupColumns) + x
    let aBase = batch * p.strideA, bBase = batch * p.strideB
    let zero = builder.f32(0)
    let sums = (0..<tiling.rows * tiling.columns).map { _ in builder.variable(zero) }
    builder.loop(from: builder.i32(0), to: p.k, step: depth) { k0 in
      // Consecutive work-items read consecutive elements of a row of A, and of a row of B.
      builder.loop(from: linear, to: builder.i32(tileRows * depth), step: tiling.workItems) { e in
        let r = e / Double(depth), kk = e % Double(depth)
        let row = rowBase + r, kIndex = k0 + kk
        aSlice[kk * Double(aStride) + r] = builder.guarded(row.lt(p.m).and(kIndex.lt(p.k)), zero) {
          builder.loadF32(p.a, aBase + row * p.k + kIndex)
        }
      }
      builder.loop(from: linear, to: builder.i32(depth * tileColumns), step: tiling.workItems) { e in
        let kk = e / Double(tileColumns), c = e % Double(tileColumns)
        let column = columnBase + c, kIndex = k0 + kk
        bSlice[e] = builder.guarded(kIndex.lt(p.k).and(column.lt(p.n)), zero) {
          builder.loadF32(p.b, bBase + kIndex * p.n + column)
        }
      }
      builder.barrier()
      for kk in 0..<depth {
        let aValues = (0..<tiling.rows).map { r in
          aSlice[y + builder.i32(kk * aStride + r * tiling.workgroupRows)]
        }
        let bValues = (0..<tiling.columns).map { c in
          bSlice[x + builder.i32(kk * tileColumns + c * tiling.workgroupColumns)]
        }
        for (r, a) in aValues.enumerated() {
          for (c, b) in bValues.enumerated() {
            let sum = sums[r * tiling.columns + c]
            sum.value = a.multipliedAdding(b, sum.value)
          }
        }
      }
      builder.barrier()
    }
    for r in 0..<tiling.rows {
      let row = rowBase + y + builder.i32(r * tiling.workgroupRows)
      for c in 0..<tiling.columns {
        let column = columnBase + x + builder.i32(c * tiling.workgroupColumns)
        builder.if(row.lt(p.m).and(column.lt(p.n))) {
          p.store(sums[r * tiling.columns + c].value, row: row, column: column, batch: batch)
        }
      }
    }
    return try builder.finish()
  }
}
