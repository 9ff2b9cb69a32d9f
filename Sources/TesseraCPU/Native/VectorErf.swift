/// `erf(x)` on eight lanes in vector instructions, within 3 ulp and 1.4e-7 of the exact value:
/// below 1 in magnitude `x · P(x²)`, up to 4 `±(1 − e^(−x²) · Q((|x| − 2.5) / 1.5))`, beyond
/// that ±1 (the nearest float to `erf(3.92)` is already 1). `P` (degree 5) and `Q` (degree 10)
/// are least-squares fits of `erf(x)/x` and `erfc(x)·e^(x²)` in relative error at Chebyshev
/// nodes (4·10⁻⁸ and 2·10⁻⁷ at most); `e^(−x²)` is ``VectorExp``'s.
enum VectorErf {
  /// `erf(x)` lane by lane; NaN stays NaN.
  @inline(__always)
  static func erf(_ x: SIMD8<Float>) -> SIMD8<Float> {
    var magnitude = SIMD8<Float>(), tail = SIMD8<Float>()
    for lane in 0..<8 {
      magnitude[lane] = x[lane] < 0 ? -x[lane] : x[lane]
      tail[lane] = magnitude[lane] < 1 ? 1 : (magnitude[lane] > 4 ? 4 : magnitude[lane])
    }
    let square = magnitude * magnitude
    var near = SIMD8<Float>(repeating: -0.000_566_799_54)
    near = SIMD8(repeating: 0.004_927_420_1).addingProduct(near, square)
    near = SIMD8(repeating: -0.026_720_895).addingProduct(near, square)
    near = SIMD8(repeating: 0.112_805_79).addingProduct(near, square)
    near = SIMD8(repeating: -0.376_123_9).addingProduct(near, square)
    near = SIMD8(repeating: 1.128_379_1).addingProduct(near, square)
    near *= magnitude
    let u = (tail - 2.5) * Float(1 / 1.5)
    var q = SIMD8<Float>(repeating: 8.638_994_8e-5)
    q = SIMD8(repeating: -0.000_243_507_28).addingProduct(q, u)
    q = SIMD8(repeating: 0.000_392_562_1).addingProduct(q, u)
    q = SIMD8(repeating: -0.000_919_999_55).addingProduct(q, u)
    q = SIMD8(repeating: 0.002_404_656_3).addingProduct(q, u)
    q = SIMD8(repeating: -0.005_608_488_3).addingProduct(q, u)
    q = SIMD8(repeating: 0.012_491_442).addingProduct(q, u)
    q = SIMD8(repeating: -0.026_998_682).addingProduct(q, u)
    q = SIMD8(repeating: 0.056_110_062).addingProduct(q, u)
    q = SIMD8(repeating: -0.111_521_33).addingProduct(q, u)
    q = SIMD8(repeating: 0.210_806_37).addingProduct(q, u)
    let far = 1 - VectorExp.exp(-(tail * tail)) * q
    var result = SIMD8<Float>()
    for lane in 0..<8 {
      let value = magnitude[lane] < 1 ? near[lane] : (magnitude[lane] < 4 ? far[lane] : 1)
      result[lane] = x[lane] < 0 ? -value : (x[lane] != x[lane] ? x[lane] : value)
    }
    return result
  }
}
