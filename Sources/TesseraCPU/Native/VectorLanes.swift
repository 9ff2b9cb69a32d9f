/// Lane operations that compile to single vector instructions on AVX2. A lane loop of
/// `x > y ? x : y` compiles to `vmaxps` (and `<` to `vminps`); `pointwiseMax` and `max()` follow
/// IEEE's NaN rules lane by lane in scalar code, and `replacing(with:where:)` of a comparison
/// (`.<` builds its mask one lane at a time, a compare and a branch each, with or without
/// AVX-512) was nine tenths of ``VectorExp``'s time on sixteen lanes.
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

  /// `x < bound ? chosen : other` in each lane (`vcmpps` and a blend).
  @inline(__always)
  static func choosing<V: SIMD>(_ chosen: V, where x: V, isBelow bound: V, else other: V) -> V
  where V.Scalar == Float {
    var result = V()
    for lane in 0..<V.scalarCount { result[lane] = x[lane] < bound[lane] ? chosen[lane] : other[lane] }
    return result
  }

  /// Each lane of `x` limited to `low ... high` (`vmaxps`, `vminps`); NaN stays NaN.
  @inline(__always)
  static func clamp<V: SIMD>(_ x: V, _ low: V, _ high: V) -> V where V.Scalar == Float {
    smaller(high, larger(low, x))
  }
}
