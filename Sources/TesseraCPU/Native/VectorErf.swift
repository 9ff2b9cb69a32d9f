/// `erf(x)` on eight lanes in vector instructions, within 3 ulp and 1.4e-7 of the exact value:
/// below 1 in magnitude `x · P(x²)`, from 1 on `±(1 − e^(−x²) · Q((|x| − 2.5) / 1.5))` with `|x|`
/// taken as 4 beyond 4 (the nearest float to that is 1, as to `erf(3.92)` already). `P` (degree
/// 5) and `Q` (degree 10) are least-squares fits of `erf(x)/x` and `erfc(x)·e^(x²)` in relative
/// error at Chebyshev nodes (4·10⁻⁸ and 2·10⁻⁷ at most); `e^(−x²)` is ``VectorExp``'s.
enum VectorErf {
  /// `erf(x)` lane by lane; NaN stays NaN.
  @inline(__always)
  static func erf(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let bits = unsafeBitCast(x, to: SIMD8<UInt32>.self)
    let sign = bits & 0x8000_0000
    let magnitude = unsafeBitCast(bits & 0x7fff_ffff, to: SIMD8<Float>.self)
    let square = magnitude * magnitude
    var near = SIMD8<Float>(repeating: -0.000_566_799_54)
    near = SIMD8(repeating: 0.004_927_420_1).addingProduct(near, square)
    near = SIMD8(repeating: -0.026_720_895).addingProduct(near, square)
    near = SIMD8(repeating: 0.112_805_79).addingProduct(near, square)
    near = SIMD8(repeating: -0.376_123_9).addingProduct(near, square)
    near = SIMD8(repeating: 1.128_379_1).addingProduct(near, square)
    near *= magnitude
    let tail = VectorLanes.clamp(magnitude, SIMD8(repeating: 1), SIMD8(repeating: 4))
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
    let value = far.replacing(with: near, where: magnitude .< 1)
    return unsafeBitCast(unsafeBitCast(value, to: SIMD8<UInt32>.self) | sign, to: SIMD8<Float>.self)
  }
}
