/// `e^x` on eight lanes in vector instructions (an AVX2 register), within 2 ulp of the exact
/// value: `x = n·ln 2 + r` with `n` the nearest integer to `x / ln 2` and `|r| ≤ ln 2 / 2`, `e^r`
/// by its Taylor series to `r⁷/7!` (the first term left out is below 2⁻²⁷ of the sum), and `2ⁿ`
/// written into the exponent bits. Below -87.33 (where `e^x` leaves the normal floats) the
/// result is 0, above 88.37 (where `2ⁿ` would need 2¹²⁸; `e^x` is within 30% of the largest
/// float there) it is +∞, and NaN stays NaN. glibc's `expf` takes a slow path that sets `errno`
/// for every underflowing lane (a masked attention score), which this does not. Lane choices are
/// `replacing(with:where:)` with a scalar, and clamps `a > b ? a : b` lane loops of two vectors
/// (`vmaxps`/`vminps`): a lane loop choosing a scalar constant compiles to a scalar loop.
enum VectorExp {
  /// Where the result is no longer a normal float: 0 below, +∞ above.
  static let lowest: Float = -87.33, highest: Float = 88.37

  /// `e^x` lane by lane.
  @inline(__always)
  static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let clamped = VectorLanes.clamp(x, SIMD8(repeating: lowest), SIMD8(repeating: highest))
    // 1.5 · 2²³ has an ulp of 1: adding it rounds to the nearest integer (ties to even), which
    // then sits in the low bits of the sum.
    let magic: Float = 12_582_912
    let shifted = SIMD8(repeating: magic).addingProduct(clamped, SIMD8(repeating: 1.442_695_04))
    let n = shifted - magic
    // r = x − n·ln 2 with ln 2 split so that n·ln2High is exact (Cody and Waite).
    let r = clamped.addingProduct(n, SIMD8(repeating: -0.693_145_751_953_125)).addingProduct(
      n, SIMD8(repeating: -1.428_606_765_330_187e-6))
    var p = SIMD8<Float>(repeating: 1.0 / 5040)
    p = SIMD8(repeating: 1.0 / 720).addingProduct(p, r)
    p = SIMD8(repeating: 1.0 / 120).addingProduct(p, r)
    p = SIMD8(repeating: 1.0 / 24).addingProduct(p, r)
    p = SIMD8(repeating: 1.0 / 6).addingProduct(p, r)
    p = SIMD8(repeating: 0.5).addingProduct(p, r)
    p = SIMD8(repeating: 1).addingProduct(p, r)
    p = SIMD8(repeating: 1).addingProduct(p, r)
    let exponent = (unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- Int32(bitPattern: magic.bitPattern) &+ 127) &<< 23
    let scaled = p * unsafeBitCast(exponent, to: SIMD8<Float>.self)
    return scaled.replacing(with: 0, where: x .< lowest).replacing(with: .infinity, where: x .> highest)
  }
}
