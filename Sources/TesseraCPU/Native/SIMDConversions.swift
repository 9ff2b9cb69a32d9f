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

  /// Each half widened to f32 (exact; one `vcvtph2ps` where the build targets F16C).
  @inline(__always)
  static func widen(_ halves: SIMD16<Float16>) -> SIMD16<Float> {
    var result = SIMD16<Float>()
    for lane in 0..<16 { result[lane] = Float(halves[lane]) }
    return result
  }

  /// Each bfloat16 (given as its bits) widened to f32: the bits become the float's upper half.
  @inline(__always)
  static func widenBrain(_ bits: SIMD16<UInt16>) -> SIMD16<Float> {
    var words = SIMD16<UInt32>()
    for lane in 0..<16 { words[lane] = UInt32(bits[lane]) << 16 }
    return unsafeBitCast(words, to: SIMD16<Float>.self)
  }

  /// Each float rounded to the nearest integer, ties away from zero, as an integer; for
  /// |x| < 2²². Vector instructions only: truncating `x ± (0.5 − 2⁻²⁵)` (the sign of `x`'s,
  /// copied bitwise) rounds exactly as `rounded(.toNearestOrAwayFromZero)` (whose per-lane form
  /// compiles to scalar code), and adding 1.5 · 2²³ leaves the integer in the low bits of the float.
  @inline(__always)
  static func roundedAwayFromZero(_ x: SIMD16<Float>) -> SIMD16<Int32> {
    let half = SIMD16<UInt32>(repeating: Float(0.5).nextDown.bitPattern)
    let sign = unsafeBitCast(x, to: SIMD16<UInt32>.self) & 0x8000_0000
    let shifted = x + unsafeBitCast(half | sign, to: SIMD16<Float>.self)
    var truncated = SIMD16<Float>()
    for lane in 0..<16 { truncated[lane] = shifted[lane].rounded(.towardZero) }
    let magic: Float = 12_582_912  // 1.5 · 2²³: its ulp is 1
    return unsafeBitCast(truncated + magic, to: SIMD16<Int32>.self) &- Int32(bitPattern: magic.bitPattern)
  }

  /// The largest |x| over the lanes of `a` and `b` (for finite lanes), each step one
  /// ``VectorLanes/larger(_:_:)`` (`vmaxps`; `replacing(with:where:)` here was a tenth of an
  /// int8-activation decode on AVX2).
  @inline(__always)
  static func largestMagnitude(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> Float {
    @inline(__always) func magnitude(_ v: SIMD16<Float>) -> SIMD16<Float> {
      unsafeBitCast(unsafeBitCast(v, to: SIMD16<UInt32>.self) & 0x7FFF_FFFF, to: SIMD16<Float>.self)
    }
    let sixteen = VectorLanes.larger(magnitude(a), magnitude(b))
    let eight = VectorLanes.larger(sixteen.lowHalf, sixteen.highHalf)
    let four = VectorLanes.larger(eight.lowHalf, eight.highHalf)
    let two = VectorLanes.larger(four.lowHalf, four.highHalf)
    return two[0] > two[1] ? two[0] : two[1]
  }

  /// Each integer converted to the nearest float (exact below 2²⁴).
  @inline(__always)
  static func float(_ integers: SIMD16<Int32>) -> SIMD16<Float> {
    var result = SIMD16<Float>()
    for lane in 0..<16 { result[lane] = Float(integers[lane]) }
    return result
  }
}
