/// Loops over floats that compute in Double four lanes at a time (two AVX2 registers per eight
/// floats): the row kernels that match the reference evaluator's Double arithmetic. Lane loops
/// compile to `vcvtps2pd` / `vcvtpd2ps`; the generic SIMD conversions do not.
enum DoubleLanes {
  /// `Σ f(Double(x[j]))` over `count` floats, in eight partial sums.
  @inline(__always)
  static func sum(_ x: UnsafePointer<Float>, _ count: Int, _ f: (SIMD4<Double>) -> SIMD4<Double>) -> Double {
    var low = SIMD4<Double>(), high = SIMD4<Double>()
    var j = 0
    while j + 8 <= count {
      low += f(widened(x + j))
      high += f(widened(x + j + 4))
      j += 8
    }
    var total = (low + high).sum()
    while j < count {
      total += f(SIMD4(repeating: Double(x[j])))[0]
      j += 1
    }
    return total
  }

  /// `out[j] = Float(f(Double(x[j])))` for `count` floats.
  @inline(__always)
  static func map(
    _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ count: Int,
    _ f: (SIMD4<Double>) -> SIMD4<Double>
  ) {
    var j = 0
    while j + 4 <= count {
      let y = f(widened(x + j))
      for lane in 0..<4 { out[j + lane] = Float(y[lane]) }
      j += 4
    }
    while j < count {
      out[j] = Float(f(SIMD4(repeating: Double(x[j])))[0])
      j += 1
    }
  }

  /// Four floats widened to Double.
  @inline(__always)
  private static func widened(_ x: UnsafePointer<Float>) -> SIMD4<Double> {
    var lanes = SIMD4<Double>()
    for lane in 0..<4 { lanes[lane] = Double(x[lane]) }
    return lanes
  }
}
