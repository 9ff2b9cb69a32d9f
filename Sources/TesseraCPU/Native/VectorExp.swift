/// `e^x` lane by lane in vector instructions (any lane count), within 2 ulp of the exact
/// value: `x = n·ln 2 + r` with `n` the nearest integer to `x / ln 2` and `|r| ≤ ln 2 / 2`, `e^r`
/// by its Taylor series to `r⁷/7!` (the first term left out is below 2⁻²⁷ of the sum), and `2ⁿ`
/// written into the exponent bits. Below -87.33 (where `e^x` leaves the normal floats) the
/// result is 0, above 88.37 (where `2ⁿ` would need 2¹²⁸; `e^x` is within 30% of the largest
/// float there) it is +∞, and NaN stays NaN. glibc's `expf` takes a slow path that sets `errno`
/// for every underflowing lane (a masked attention score), which this does not. Lane choices and
/// clamps are ``VectorLanes``' lane loops over two vectors (a compare and a blend, `vmaxps`,
/// `vminps`): a lane loop choosing a scalar constant compiles to a scalar loop.
enum VectorExp {
  /// Where the result is no longer a normal float: 0 below, +∞ above.
  static let lowest: Float = -87.33, highest: Float = 88.37

  /// `e^x` lane by lane, on any number of lanes.
  @inline(__always)
  static func exp<V: SIMD>(_ x: V) -> V where V.Scalar == Float {
    let clamped = VectorLanes.clamp(x, V(repeating: lowest), V(repeating: highest))
    // 1.5 · 2²³ has an ulp of 1: adding it rounds to the nearest integer (ties to even), which
    // then sits in the low bits of the sum.
    let magic: Float = 12_582_912
    let shifted = V(repeating: magic).addingProduct(clamped, V(repeating: 1.442_695_04))
    let n = shifted - magic
    // r = x − n·ln 2 with ln 2 split so that n·ln2High is exact (Cody and Waite).
    let r = clamped.addingProduct(n, V(repeating: -0.693_145_751_953_125)).addingProduct(
      n, V(repeating: -1.428_606_765_330_187e-6))
    var p = V(repeating: 1.0 / 5040)
    p = V(repeating: 1.0 / 720).addingProduct(p, r)
    p = V(repeating: 1.0 / 120).addingProduct(p, r)
    p = V(repeating: 1.0 / 24).addingProduct(p, r)
    p = V(repeating: 1.0 / 6).addingProduct(p, r)
    p = V(repeating: 0.5).addingProduct(p, r)
    p = V(repeating: 1).addingProduct(p, r)
    p = V(repeating: 1).addingProduct(p, r)
    let bias = V.MaskStorage.Scalar(truncatingIfNeeded: magic.bitPattern) &- 127
    let exponent = (unsafeBitCast(shifted, to: V.MaskStorage.self) &- bias) &<< 23
    let scaled = p * unsafeBitCast(exponent, to: V.self)
    let kept = VectorLanes.choosing(V(), where: x, isBelow: V(repeating: lowest), else: scaled)
    return VectorLanes.choosing(V(repeating: .infinity), where: V(repeating: highest), isBelow: x, else: kept)
  }
}
