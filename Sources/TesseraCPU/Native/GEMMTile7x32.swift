/// A tile of 7×32 for 512-bit vectors, the shape of a convolution's product transposed when its
/// output rows are seven wide (ResNet's 7×7 layers, ``OutputRowConvolution``): an output row's
/// seven positions are the tile's rows, so 49 positions fill seven tiles where the 12×32 tile's
/// 32 columns left 15 of 64 empty. Fourteen `SIMD16<Float>` accumulators (plus two B vectors and
/// one broadcast: 17 of the 32 zmm registers): per step fourteen `vfmadd231ps` fed by seven
/// broadcast loads and two vector loads, fourteen independent chains.
enum GEMMTile7x32: GEMMMicrokernel {
  /// Rows of C per tile.
  static let rows = 7
  /// Columns of C per tile (two 16-float vectors).
  static let columns = 32

  /// `C[0..<7, 0..<32] (+)= Apanel · B` over `depth` steps, B's step `k` at `b + k · bStride`
  /// bytes, calling `lookahead.step()` at each.
  @inline(__always)
  static func tile<Lookahead: GEMMLookahead>(
    depth: Int, a: UnsafePointer<Float>, b: UnsafeRawPointer, bStride: Int, c: UnsafeMutablePointer<Float>,
    ldc: Int, accumulate: Bool, lookahead: Lookahead
  ) {
    var lookahead = lookahead
    var c00 = SIMD16<Float>(), c01 = SIMD16<Float>()
    var c10 = SIMD16<Float>(), c11 = SIMD16<Float>()
    var c20 = SIMD16<Float>(), c21 = SIMD16<Float>()
    var c30 = SIMD16<Float>(), c31 = SIMD16<Float>()
    var c40 = SIMD16<Float>(), c41 = SIMD16<Float>()
    var c50 = SIMD16<Float>(), c51 = SIMD16<Float>()
    var c60 = SIMD16<Float>(), c61 = SIMD16<Float>()
    var ap = a, bp = b
    for _ in 0..<depth {
      lookahead.step()
      let b0 = bp.loadUnaligned(as: SIMD16<Float>.self)
      let b1 = bp.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
      c00 = c00.addingProduct(ap[0], b0)
      c01 = c01.addingProduct(ap[0], b1)
      c10 = c10.addingProduct(ap[1], b0)
      c11 = c11.addingProduct(ap[1], b1)
      c20 = c20.addingProduct(ap[2], b0)
      c21 = c21.addingProduct(ap[2], b1)
      c30 = c30.addingProduct(ap[3], b0)
      c31 = c31.addingProduct(ap[3], b1)
      c40 = c40.addingProduct(ap[4], b0)
      c41 = c41.addingProduct(ap[4], b1)
      c50 = c50.addingProduct(ap[5], b0)
      c51 = c51.addingProduct(ap[5], b1)
      c60 = c60.addingProduct(ap[6], b0)
      c61 = c61.addingProduct(ap[6], b1)
      ap += 7
      bp += bStride
    }
    @inline(__always) func put(_ row: Int, _ low: SIMD16<Float>, _ high: SIMD16<Float>) {
      storeRow32(low, high, at: c + row * ldc, accumulate: accumulate)
    }
    put(0, c00, c01)
    put(1, c10, c11)
    put(2, c20, c21)
    put(3, c30, c31)
    put(4, c40, c41)
    put(5, c50, c51)
    put(6, c60, c61)
  }
}
