/// Lane operations that compile to single vector instructions on AVX2.
enum VectorLanes {
  /// Each lane of `x` limited to `low ... high` (`vmaxps`, `vminps`); NaN stays NaN.
  @inline(__always)
  static func clamp(_ x: SIMD8<Float>, _ low: SIMD8<Float>, _ high: SIMD8<Float>) -> SIMD8<Float> {
    var result = SIMD8<Float>()
    for lane in 0..<8 { result[lane] = low[lane] > x[lane] ? low[lane] : x[lane] }
    for lane in 0..<8 { result[lane] = high[lane] < result[lane] ? high[lane] : result[lane] }
    return result
  }
}
