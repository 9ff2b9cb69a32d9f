import TesseraCompiler
import TesseraIR

/// Tile sizes of the tiled GEMMs (``TesseraKernels/matmul(config:dtype:epilogue:)`` and
/// ``TesseraKernels/quantizedMatmul(weights:config:)``): each workgroup of `tileN x tileM`
/// work-items computes one `tileM x tileN` block of the result, one element per work-item,
/// stepping through K in slices of `tileK` staged in workgroup-shared memory.
public struct MatmulConfig: Hashable, Sendable {
  /// Rows of the result per workgroup (workgroup size along dimension 1).
  public var tileM: Int
  /// Columns of the result per workgroup (workgroup size along dimension 0).
  public var tileN: Int
  /// Depth of each shared-memory slice of A and B.
  public var tileK: Int

  /// A 16 x 16 workgroup with 16-deep slices by default.
  public init(tileM: Int = 16, tileN: Int = 16, tileK: Int = 16) {
    self.tileM = tileM
    self.tileN = tileN
    self.tileK = tileK
  }
}

/// The pieces of one tiled GEMM: `c[row][column] = sum_k a[aBase + row*k + kk] * b[…]`, with `b`
/// either `[K][N]` (``transposedB`` false) or `[N][K]` (true, the GGUF weight layout).
struct TiledGEMM {
  var a: KBufferRef
  var b: KBufferRef
  var transposedB: Bool
  var m: KExpr
  var n: KExpr
  var k: KExpr
  /// Element offsets of this work-item's batch in `a` and `b`.
  var aBase: KExpr
  var bBase: KExpr

  /// Emits the tiled loop for a launch with workgroup `[tileN, tileM, …]` and one work-item per
  /// result element (`global_id 0` = column, `global_id 1` = row); calls `store(sum, row, column)`
  /// for the work-items inside the `m x n` result, with the sum accumulated in f32.
  func emit(_ builder: KernelBuilder, _ config: MatmulConfig, store: (KExpr, KExpr, KExpr) -> Void) {
    let (tileM, tileN, tileK) = (config.tileM, config.tileN, config.tileK)
    let aTile = builder.shared("a_tile", .f32, count: tileM * tileK)
    let bTile = builder.shared("b_tile", .f32, count: tileK * tileN)
    let tx = builder.localID(0), ty = builder.localID(1)
    let column = builder.globalID(0), row = builder.globalID(1)
    let rowBase = builder.groupID(1) * builder.i32(tileM), columnBase = builder.groupID(0) * builder.i32(tileN)
    let linear = ty * builder.i32(tileN) + tx
    let items = tileM * tileN
    let zero = builder.f32(0)
    let sum = builder.variable(zero)
    builder.loop(from: builder.i32(0), to: k, step: tileK) { k0 in
      // Stage A[rowBase..][k0..] and B[k0..][columnBase..] (zero outside the matrices).
      builder.loop(from: linear, to: builder.i32(tileM * tileK), step: items) { e in
        let r = rowBase + e / Double(tileK), kk = k0 + e % Double(tileK)
        aTile[e] = builder.guarded(r.lt(m).and(kk.lt(k)), zero) { builder.loadF32(a, aBase + r * k + kk) }
      }
      builder.loop(from: linear, to: builder.i32(tileK * tileN), step: items) { e in
        // Consecutive work-items read consecutive elements of B's rows in either layout.
        let along = transposedB ? tileK : tileN
        let inner = e % Double(along), outer = e / Double(along)
        let (kk, c) = transposedB ? (k0 + inner, columnBase + outer) : (k0 + outer, columnBase + inner)
        let slot = transposedB ? inner * Double(tileN) + outer : e
        bTile[slot] = builder.guarded(kk.lt(k).and(c.lt(n)), zero) {
          builder.loadF32(b, bBase + (transposedB ? c * k + kk : kk * n + c))
        }
      }
      builder.barrier()
      let partial = builder.fold(sum.value, from: builder.i32(0), to: builder.i32(tileK), step: 1) { total, kk in
        total + aTile[ty * Double(tileK) + kk] * bTile[kk * Double(tileN) + tx]
      }
      sum.value = partial
      builder.barrier()
    }
    builder.if(row.lt(m).and(column.lt(n))) { store(sum.value, row, column) }
  }
}
