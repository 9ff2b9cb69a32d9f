import Foundation
import Testing

@testable import TesseraCPU

/// ``VectorErf`` against `erf` in Double, and the GELU of the GEMM epilogue that uses it against
/// GELU's formula in Double.
@Suite("Vector erf and the GEMM epilogue's GELU")
struct VectorErfTests {
  /// Units in the last place of `expected` (rounded to Float) between it and `actual`.
  static func ulps(_ actual: Float, _ expected: Double) -> Double {
    abs(Double(actual) - expected) / Double(Float(expected).magnitude.ulp)
  }

  @Test("within 3 ulp and 1.4e-7 of erf from -5 to 5")
  func accuracy() {
    var worstUlps = 0.0, worstError = 0.0
    for start in stride(from: -5.0, to: 5.0, by: 0.000_73 * 8) {
      let x = SIMD8<Float>((0..<8).map { Float(start + 0.000_73 * Double($0)) })
      let e = VectorErf.erf(x)
      for lane in 0..<8 {
        let exact = Foundation.erf(Double(x[lane]))
        worstUlps = max(worstUlps, Self.ulps(e[lane], exact))
        worstError = max(worstError, abs(Double(e[lane]) - exact))
      }
    }
    #expect(worstUlps <= 3, "worst \(worstUlps) ulp")
    #expect(worstError <= 1.4e-7, "worst absolute error \(worstError)")
  }

  @Test("odd, ±1 far out, NaN kept, exact at 0")
  func limits() {
    let e = VectorErf.erf(SIMD8<Float>(0, 1e-30, -1e-30, 4.5, -100, .infinity, -.infinity, .nan))
    #expect(e[0] == 0)
    #expect(Self.ulps(e[1], 1.1283791670955126e-30) <= 1 && Self.ulps(e[2], -1.1283791670955126e-30) <= 1)
    #expect(e[3] == 1 && e[4] == -1 && e[5] == 1 && e[6] == -1)
    #expect(e[7].isNaN)
  }

  @Test("the epilogue's GELU of a row with a ragged tail", arguments: [1, 8, 13, 37])
  func gelu(count: Int) {
    var values = (0..<count).map { Float(-6 + 12 * Double($0) / Double(max(count - 1, 1))) }
    let inputs = values
    values.withUnsafeMutableBufferPointer { GEMMActivation.gelu.apply(to: $0.baseAddress!, columns: 0..<count) }
    for (x, y) in zip(inputs, values) {
      let exact = 0.5 * Double(x) * (1 + Foundation.erf(Double(x) / 2.0.squareRoot()))
      #expect(abs(Double(y) - exact) <= 1e-7 * max(1, abs(Double(x))), "gelu(\(x)) = \(y), exact \(exact)")
    }
  }
}
