/// The tile for CPUs with 16 vector registers of 256 bits (AVX2, as on AMD Zen 1–3 and Intel
/// before AVX-512): 6×16 of C held in six `SIMD16<Float>` accumulators, which are twelve ymm
/// registers, plus one B vector (two) and one broadcast: 15 of the 16. The loop body is twelve
/// `vfmadd231ps` fed by six broadcast loads and two vector loads, with twelve independent chains
/// to cover the FMA latency of both ports.
enum GEMMTile6x16: GEMMMicrokernel {
  /// Rows of C per tile.
  static let rows = 6
  /// Columns of C per tile (one 16-float vector).
  static let columns = 16

  /// `C[0..<6, 0..<16] (+)= Apanel · B` over `depth` steps, B's step `k` at `b + k · bStride`
  /// bytes, calling `lookahead.step()` at each.
  @inline(__always)
  static func tile<Lookahead: GEMMLookahead>(
    depth: Int, a: UnsafePointer<Float>, b: UnsafeRawPointer, bStride: Int, c: UnsafeMutablePointer<Float>,
    ldc: Int, accumulate: Bool, lookahead: Lookahead
  ) {
    var lookahead = lookahead
    var c0 = SIMD16<Float>(), c1 = SIMD16<Float>(), c2 = SIMD16<Float>()
    var c3 = SIMD16<Float>(), c4 = SIMD16<Float>(), c5 = SIMD16<Float>()
    var ap = a, bp = b
    for _ in 0..<depth {
      lookahead.step()
      let b0 = bp.loadUnaligned(as: SIMD16<Float>.self)
      c0 = c0.addingProduct(ap[0], b0)
      c1 = c1.addingProduct(ap[1], b0)
      c2 = c2.addingProduct(ap[2], b0)
      c3 = c3.addingProduct(ap[3], b0)
      c4 = c4.addingProduct(ap[4], b0)
      c5 = c5.addingProduct(ap[5], b0)
      ap += 6
      bp += bStride
    }
    let raw = UnsafeMutableRawPointer(c), stride = ldc * MemoryLayout<Float>.stride
    @inline(__always) func put(_ row: Int, _ value: SIMD16<Float>) {
      let rowStart = raw + row * stride
      let sum = accumulate ? value + rowStart.loadUnaligned(as: SIMD16<Float>.self) : value
      rowStart.storeBytes(of: sum, as: SIMD16<Float>.self)
    }
    put(0, c0)
    put(1, c1)
    put(2, c2)
    put(3, c3)
    put(4, c4)
    put(5, c5)
  }
}
