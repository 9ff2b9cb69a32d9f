/// Lane operations that compile to single vector instructions on AVX2. A lane loop of
/// `x > y ? x : y` compiles to `vmaxps` (and `<` to `vminps`); `pointwiseMax` and `max()` follow
/// IEEE's NaN rules lane by lane in scalar code, and `replacing(with:where:)` builds its mask
/// lane by lane through the stack without AVX-512.
enum VectorLanes {
  /// `x > y ? x : y` in each lane (`vmaxps`): `y`'s lane where either is NaN.
  @inline(__always)
  static func larger<V: SIMD>(_ x: V, _ y: V) -> V where V.Scalar == Float {
    var result = V()
    for lane in 0..<V.scalarCount { result[lane] = x[lane] > y[lane] ? x[lane] : y[lane] }
    return result
  }

  /// `x < y ? x : y` in each lane (`vminps`): `y`'s lane where either is NaN.
  @inline(__always)
  static func smaller<V: SIMD>(_ x: V, _ y: V) -> V where V.Scalar == Float {
    var result = V()
    for lane in 0..<V.scalarCount { result[lane] = x[lane] < y[lane] ? x[lane] : y[lane] }
    return result
  }

  /// Each lane of `x` limited to `low ... high` (`vmaxps`, `vminps`); NaN stays NaN.
  @inline(__always)
  static func clamp(_ x: SIMD8<Float>, _ low: SIMD8<Float>, _ high: SIMD8<Float>) -> SIMD8<Float> {
    smaller(high, larger(low, x))
  }
}
