/// Lane-wise integer widening and integer-to-float conversion written as per-lane loops, which
/// the compiler turns into single `vpmovzxbd` / `vpmovsxbd` / `vcvtdq2ps` instructions on zmm
/// registers. The standard library's generic `SIMD16<Int32>(truncatingIfNeeded:)` and
/// `SIMD16<Float>(_:)` compile to out-of-line calls that split the vector into xmm registers.
enum SIMDConversions {
  /// Each byte zero-extended to 32 bits.
  @inline(__always)
  static func widen(_ bytes: SIMD16<UInt8>) -> SIMD16<Int32> {
    var result = SIMD16<Int32>()
    for lane in 0..<16 { result[lane] = Int32(bytes[lane]) }
    return result
  }

  /// Each byte sign-extended to 32 bits.
  @inline(__always)
  static func widen(_ bytes: SIMD16<Int8>) -> SIMD16<Int32> {
    var result = SIMD16<Int32>()
    for lane in 0..<16 { result[lane] = Int32(bytes[lane]) }
    return result
  }

  /// Each integer converted to the nearest float (exact below 2²⁴).
  @inline(__always)
  static func float(_ integers: SIMD16<Int32>) -> SIMD16<Float> {
    var result = SIMD16<Float>()
    for lane in 0..<16 { result[lane] = Float(integers[lane]) }
    return result
  }
}
