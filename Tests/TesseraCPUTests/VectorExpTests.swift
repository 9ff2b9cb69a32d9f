import Foundation
import TesseraIR
import TesseraRuntime
import TesseraTestSupport
import Testing

@testable import TesseraCPU

/// ``VectorExp`` against `exp` in Double, and the native softmax that uses it on masked rows
/// (an attention mask's -10000 and -∞) against the reference evaluator.
@Suite("Vector exp and masked softmax")
struct VectorExpTests {
  /// Units in the last place of `expected` (rounded to Float) between it and `actual`.
  static func ulps(_ actual: Float, _ expected: Double) -> Double {
    let rounded = Float(expected)
    return abs(Double(actual) - expected) / Double(rounded.ulp)
  }

  /// ``VectorExp/exp(_:)`` on eight or sixteen lanes (the lane counts the kernels use).
  static func exp(_ x: [Float]) -> [Float] {
    if x.count == 8 {
      let y = VectorExp.exp(SIMD8<Float>(x))
      return (0..<8).map { y[$0] }
    }
    let y = VectorExp.exp(SIMD16<Float>(x))
    return (0..<16).map { y[$0] }
  }

  @Test("within 2 ulp of exp from -87.3 to 88.3", arguments: [8, 16])
  func accuracy(lanes: Int) {
    var worst = 0.0
    for start in stride(from: -87.3, to: 88.2, by: 0.0137 * Double(lanes)) {
      let x = (0..<lanes).map { Float(start + 0.0137 * Double($0)) }
      for (value, e) in zip(x, Self.exp(x)) { worst = max(worst, Self.ulps(e, Foundation.exp(Double(value)))) }
    }
    #expect(worst <= 2, "worst \(worst) ulp")
  }

  @Test("0 below the normal range, +∞ above, NaN kept, exact at 0, in every lane", arguments: [8, 16])
  func limits(lanes: Int) {
    let special: [Float] = [-10000, -.infinity, -88, 0, 89, .infinity, .nan, -87.3]
    // Each special value in every lane position: rotated through the vector.
    for shift in 0..<lanes {
      let x = (0..<lanes).map { special[($0 + shift) % special.count] }
      for (value, e) in zip(x, Self.exp(x)) {
        switch value {
        case ..<(-87.33): #expect(e == 0, "exp(\(value))")
        case 0: #expect(e == 1)
        case 88.4...: #expect(e == .infinity, "exp(\(value))")
        case _ where value.isNaN: #expect(e.isNaN)
        default: #expect(Self.ulps(e, Foundation.exp(Double(value))) <= 2, "exp(\(value)) = \(e)")
        }
      }
    }
  }

  @Test("a masked softmax row gives exact zeros and the reference's other values", arguments: [5, 8, 37, 128])
  func maskedSoftmax(width: Int) throws {
    var generator = SeededRandom(seed: UInt64(width))
    var values = Tensor.random(TensorType(.f32, [2, width]), using: &generator).floats
    // Row 0: every third score masked as BERT's mask does; row 1: the tail masked with -∞.
    for j in stride(from: 1, to: width, by: 3) { values[j] -= 10000 }
    for j in (width / 2 + 1)..<width { values[width + j] = -.infinity }
    let type = "f32[2,\(width)]"
    let expected = try TestSupport.evaluate(
      try TestSupport.parseOne(
        "func @f(%x: \(type)) -> \(type) {\n  %y = softmax %x {axis = -1} : \(type)\n  return %y\n}"),
      [Tensor(floats: values, shape: [2, width])])[0]
    var out = [Float](repeating: .nan, count: 2 * width)
    RowKernels.softmax(values, &out, rows: 2, width: width, pool: CPUThreadPool(threads: 1))
    #expect(stride(from: 1, to: width, by: 3).allSatisfy { out[$0] == 0 }, "row 0's masked scores")
    #expect(((width / 2 + 1)..<width).allSatisfy { out[width + $0] == 0 }, "row 1's masked tail")
    #expect(TestSupport.toleranceRatio(Tensor(floats: out, shape: [2, width]), expected, atol: 1e-7, rtol: 1e-6) <= 1)
  }
}
