/// Sixteen vectors of sixteen floats: the rows of a 16×16 block.
typealias Rows16 = (
  SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>,
  SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>,
  SIMD16<Float>, SIMD16<Float>
)

/// Packs twelve rows of A, sixteen depths at a time, for ``GEMMTile12x32``'s micro-panels: the
/// rows are loaded as vectors and transposed in registers. The plain packing loop (a row's
/// element to every twelfth float) compiles to `vscatterdps` with AVX-512; in ResNet-18's
/// convolutions on Zen 5 its lines held a quarter of the SGEMM's samples, and this packing made
/// the model 5–10% faster at one thread, and BERT's feed-forward product of depth 1024
/// (128×256×1024) 4% faster; square products from 512³ to 2048³ run as fast either way, since A
/// is packed once per depth block.
enum GEMMTwelveRowPacking {
  /// `target[12·p + r] = source[r·lda + p]` for rows `r < 12` and depths `p < 16`.
  @inline(__always)
  static func pack(_ source: UnsafePointer<Float>, lda: Int, into target: UnsafeMutablePointer<Float>) {
    @inline(__always) func row(_ r: Int) -> SIMD16<Float> {
      UnsafeRawPointer(source + r * lda).loadUnaligned(as: SIMD16<Float>.self)
    }
    let last = row(11)
    let rows: Rows16 = (
      row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7), row(8), row(9), row(10), last, last, last, last,
      last
    )
    // Four passes turn row r, lane p into row p, lane r (each rotates the eight index bits by one).
    let columns = unshuffled(unshuffled(unshuffled(unshuffled(rows))))
    // Each depth's twelve floats; the four lanes past them are overwritten by the next store.
    @inline(__always) func put(_ p: Int, _ column: SIMD16<Float>) {
      UnsafeMutableRawPointer(target + 12 * p).storeBytes(of: column, as: SIMD16<Float>.self)
    }
    put(0, columns.0)
    put(1, columns.1)
    put(2, columns.2)
    put(3, columns.3)
    put(4, columns.4)
    put(5, columns.5)
    put(6, columns.6)
    put(7, columns.7)
    put(8, columns.8)
    put(9, columns.9)
    put(10, columns.10)
    put(11, columns.11)
    put(12, columns.12)
    put(13, columns.13)
    put(14, columns.14)
    // The last depth lane by lane, so nothing is written past the block.
    for r in 0..<12 { target[12 * 15 + r] = columns.15[r] }
  }

  /// One pass of the transpose: the even lanes of each neighbouring pair of vectors, then the odd
  /// lanes (element `i` of the 256 moves to `i / 2`, or `128 + i / 2` when `i` is odd).
  @inline(__always)
  private static func unshuffled(_ v: Rows16) -> Rows16 {
    @inline(__always) func pair(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD32<Float> {
      SIMD32(lowHalf: a, highHalf: b)
    }
    let p0 = pair(v.0, v.1), p1 = pair(v.2, v.3), p2 = pair(v.4, v.5), p3 = pair(v.6, v.7)
    let p4 = pair(v.8, v.9), p5 = pair(v.10, v.11), p6 = pair(v.12, v.13), p7 = pair(v.14, v.15)
    return (
      p0.evenHalf, p1.evenHalf, p2.evenHalf, p3.evenHalf, p4.evenHalf, p5.evenHalf, p6.evenHalf, p7.evenHalf,
      p0.oddHalf, p1.oddHalf, p2.oddHalf, p3.oddHalf, p4.oddHalf, p5.oddHalf, p6.oddHalf, p7.oddHalf
    )
  }
}
