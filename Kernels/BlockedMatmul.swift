import TesseraCompiler
import TesseraIR

/// The register blocking of ``TesseraKernels/blockedMatmul(_:dtype:epilogue:)``: each work-item
/// computes `rows x lanes` results held in `rows` vector accumulators of `lanes` f32 each, and
/// per step of K reads one `lanes`-wide vector of a row of B and `rows` elements of A.
public struct MatmulBlocking: Hashable, Sendable {
  /// Rows of the result per work-item.
  public var rows: Int
  /// Columns of the result per work-item, one vector: 1, 2, 4, 8 or 16.
  public var lanes: Int
  /// Work-items per workgroup along the columns (dimension 0) and along the rows (dimension 1).
  public var workgroup: [Int]

  /// The vector widths a blocking may use.
  public static let widths = [16, 8, 4, 2, 1]

  /// 8 x 16 results per work-item in 4 x 16 workgroups by default: the fastest measured on PoCL
  /// (docs/opencl-gemm.md).
  public init(rows: Int = 8, lanes: Int = 16, workgroup: [Int] = [4, 16]) {
    self.rows = rows
    self.lanes = lanes
    self.workgroup = workgroup
  }

  /// This blocking for an `m x n` result: at most `m` rows and the widest vector not wider than
  /// `n` (the kernel needs `n >= lanes`), so small results compute few discarded elements.
  public func fitted(m: Int, n: Int) -> MatmulBlocking {
    var fitted = self
    fitted.rows = Swift.max(1, Swift.min(rows, m))
    fitted.lanes = Self.widths.first { $0 <= Swift.min(lanes, Swift.max(n, 1)) } ?? 1
    return fitted
  }
}

extension TesseraKernels {
  /// Batched register-blocked GEMM: `c[b] = a[b] @ b[b]` like
  /// ``matmul(config:dtype:epilogue:)`` (same buffers, scalars and epilogue), with each work-item
  /// computing a `blocking.rows x blocking.lanes` block of the result in vector registers,
  /// reading A and B straight from global memory (caches, not workgroup-shared memory, give the
  /// reuse: on CPU drivers staging through local memory was measured slower).
  ///
  /// Tails need no separate path: rows past `m` read row `m - 1` and are not stored; the block
  /// at the right edge loads the last `lanes` columns (shifted left) and stores only its own.
  ///
  /// - Launch: global `[ceil(n / lanes), ceil(m / rows), batch]`, workgroup
  ///   `blocking.workgroup + [1]`.
  /// - Requires `n >= blocking.lanes` at run time (``MatmulBlocking/fitted(m:n:)`` chooses such
  ///   a width); `dtype` f32 or f16.
  public static func blockedMatmul(
    _ blocking: MatmulBlocking = MatmulBlocking(), dtype: DType = .f32, epilogue: MatmulEpilogue? = nil
  ) throws(KIRError) -> Kernel {
    let (rows, lanes) = (blocking.rows, blocking.lanes)
    let p = try MatmulParameters(
      dtype: dtype, epilogue: epilogue, comment: "\(rows)x\(lanes) results per work-item, f32 accumulation")
    guard rows >= 1, MatmulBlocking.widths.contains(lanes), blocking.workgroup.count == 2 else {
      throw .invalid(
        kernel: "matmul_\(dtype)",
        detail: "blocking of \(rows) rows, \(lanes) lanes and workgroup \(blocking.workgroup) (lanes 1, 2, 4, 8 or 16)")
    }
    let builder = p.builder
    builder.launch(
      global: [.ceilDiv(.scalar("n"), lanes), .ceilDiv(.scalar("m"), rows), .scalar("batch")],
      workgroup: blocking.workgroup + [1])
    let batch = builder.globalID(2)
    let row0 = builder.globalID(1) * builder.i32(rows), column0 = builder.globalID(0) * builder.i32(lanes)
    builder.if(row0.lt(p.m).and(column0.lt(p.n))) {
      // The block's columns, moved left to stay inside B at the right edge.
      let window = builder.min(column0, p.n - builder.i32(lanes))
      let last = p.m - builder.i32(1)
      let aRows = (0..<rows).map { r in batch * p.strideA + builder.min(row0 + builder.i32(r), last) * p.k }
      let bBase = batch * p.strideB + window
      let vector = KType(.f32, lanes: lanes)
      let sums = (0..<rows).map { _ in builder.variable(builder.f32(0).widened(to: lanes)) }
      builder.loop(from: builder.i32(0), to: p.k) { kk in
        let bRow = p.b.load(bBase + kk * p.n, lanes: lanes).cast(to: vector)
        for (sum, aRow) in zip(sums, aRows) {
          sum.value = builder.loadF32(p.a, aRow + kk).widened(to: lanes).multipliedAdding(bRow, sum.value)
        }
      }
      for (r, sum) in sums.enumerated() {
        let row = row0 + builder.i32(r)
        builder.if(row.lt(p.m)) {
          storeBlockRow(p, sum.value, row: row, window: window, column0: column0, batch: batch)
        }
      }
    }
    return try builder.finish()
  }

  /// Stores one row of a block: one vector store where the block is not shifted and there is no
  /// epilogue, else lane by lane, skipping the columns a shifted block shares with its neighbour.
  private static func storeBlockRow(
    _ p: MatmulParameters, _ sums: KExpr, row: KExpr, window: KExpr, column0: KExpr, batch: KExpr
  ) {
    let builder = p.builder, lanes = sums.type.lanes
    let byLane = {
      for lane in 0..<lanes {
        let column = window + builder.i32(lane)
        builder.if(column.ge(column0)) {
          p.store(lanes == 1 ? sums : sums.lane(lane), row: row, column: column, batch: batch)
        }
      }
    }
    guard p.epilogue == nil, lanes > 1 else { return byLane() }
    builder.if(
      window.compare(.eq, column0), then: { p.c[(batch * p.m + row) * p.n + column0] = sums.cast(p.dtype) },
      else: byLane)
  }
}

extension KExpr {
  /// The scalar repeated in a `lanes`-wide vector (itself for one lane).
  func widened(to lanes: Int) -> KExpr { lanes == 1 ? self : splat(lanes) }
}
