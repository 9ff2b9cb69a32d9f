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

  /// ``VectorErf/erf(_:)`` on eight or sixteen lanes (the lane counts the kernels use).
  static func erf(_ x: [Float]) -> [Float] {
    if x.count == 8 {
      let y = VectorErf.erf(SIMD8<Float>(x))
      return (0..<8).map { y[$0] }
    }
    let y = VectorErf.erf(SIMD16<Float>(x))
    return (0..<16).map { y[$0] }
  }

  @Test("within 3 ulp and 1.4e-7 of erf from -5 to 5", arguments: [8, 16])
  func accuracy(lanes: Int) {
    var worstUlps = 0.0, worstError = 0.0
    for start in stride(from: -5.0, to: 5.0, by: 0.000_73 * Double(lanes)) {
      let x = (0..<lanes).map { Float(start + 0.000_73 * Double($0)) }
      for (value, e) in zip(x, Self.erf(x)) {
        let exact = Foundation.erf(Double(value))
        worstUlps = max(worstUlps, Self.ulps(e, exact))
        worstError = max(worstError, abs(Double(e) - exact))
      }
    }
    #expect(worstUlps <= 3, "worst \(worstUlps) ulp")
    #expect(worstError <= 1.4e-7, "worst absolute error \(worstError)")
  }

  @Test("odd, ±1 far out, NaN kept, exact at 0, in every lane", arguments: [8, 16])
  func limits(lanes: Int) {
    let special: [Float] = [0, 1e-30, -1e-30, 4.5, -100, .infinity, -.infinity, .nan, 0.99, -1]
    for shift in 0..<lanes {
      let x = (0..<lanes).map { special[($0 + shift) % special.count] }
      for (value, e) in zip(x, Self.erf(x)) {
        if value.isNaN {
          #expect(e.isNaN)
        } else if value.magnitude >= 4 {
          #expect(e == (value > 0 ? 1 : -1), "erf(\(value))")
        } else {
          #expect(Self.ulps(e, Foundation.erf(Double(value))) <= 3, "erf(\(value)) = \(e)")
        }
      }
    }
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
