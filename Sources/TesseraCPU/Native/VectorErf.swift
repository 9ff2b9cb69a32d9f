/// `erf(x)` lane by lane in vector instructions, within 3 ulp and 1.4e-7 of the exact value:
/// below 1 in magnitude `x · P(x²)`, from 1 on `±(1 − e^(−x²) · Q((|x| − 2.5) / 1.5))` with `|x|`
/// taken as 4 beyond 4 (the nearest float to that is 1, as to `erf(3.92)` already). `P` (degree
/// 5) and `Q` (degree 10) are least-squares fits of `erf(x)/x` and `erfc(x)·e^(x²)` in relative
/// error at Chebyshev nodes (4·10⁻⁸ and 2·10⁻⁷ at most); `e^(−x²)` is ``VectorExp``'s.
enum VectorErf {
  /// `erf(x)` lane by lane, on any number of lanes; NaN stays NaN.
  @inline(__always)
  static func erf<V: SIMD>(_ x: V) -> V where V.Scalar == Float {
    let bits = unsafeBitCast(x, to: V.MaskStorage.self)
    let sign = bits & V.MaskStorage.Scalar.min
    let magnitude = unsafeBitCast(bits & V.MaskStorage.Scalar.max, to: V.self)
    let square = magnitude * magnitude
    var near = V(repeating: -0.000_566_799_54)
    near = V(repeating: 0.004_927_420_1).addingProduct(near, square)
    near = V(repeating: -0.026_720_895).addingProduct(near, square)
    near = V(repeating: 0.112_805_79).addingProduct(near, square)
    near = V(repeating: -0.376_123_9).addingProduct(near, square)
    near = V(repeating: 1.128_379_1).addingProduct(near, square)
    near *= magnitude
    let tail = VectorLanes.clamp(magnitude, V(repeating: 1), V(repeating: 4))
    let u = (tail - 2.5) * Float(1 / 1.5)
    var q = V(repeating: 8.638_994_8e-5)
    q = V(repeating: -0.000_243_507_28).addingProduct(q, u)
    q = V(repeating: 0.000_392_562_1).addingProduct(q, u)
    q = V(repeating: -0.000_919_999_55).addingProduct(q, u)
    q = V(repeating: 0.002_404_656_3).addingProduct(q, u)
    q = V(repeating: -0.005_608_488_3).addingProduct(q, u)
    q = V(repeating: 0.012_491_442).addingProduct(q, u)
    q = V(repeating: -0.026_998_682).addingProduct(q, u)
    q = V(repeating: 0.056_110_062).addingProduct(q, u)
    q = V(repeating: -0.111_521_33).addingProduct(q, u)
    q = V(repeating: 0.210_806_37).addingProduct(q, u)
    let far = 1 - VectorExp.exp(-(tail * tail)) * q
    let value = VectorLanes.choosing(near, where: magnitude, isBelow: V(repeating: 1), else: far)
    return unsafeBitCast(unsafeBitCast(value, to: V.MaskStorage.self) | sign, to: V.self)
  }
}
