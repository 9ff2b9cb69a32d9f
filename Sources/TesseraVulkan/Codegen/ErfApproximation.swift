import Foundation

/// The error function as generated into shaders (GLSL.std.450 has none).
///
/// For |x| < 1: the Maclaurin series `2/√π · Σ (-1)^n x^(2n+1) / (n! (2n+1))` to n = 11, whose
/// first omitted term is below 1.2e-10 · |x|, so the relative error is set by f32 rounding.
/// For |x| ≥ 1: `erf = 1 - erfc`, with erfc from the Chebyshev fit of Numerical Recipes (2nd ed.,
/// §6.2, `erfcc`), `t·exp(-x² + P(t))` with `t = 1/(1 + x/2)` and a fractional error below
/// 1.2e-7; since erfc(1) < 0.16 that is below 2e-8 relative on erf. The sign is restored last.
public enum ErfApproximation {
  /// Series coefficients in x² for |x| < 1 (highest power first, for Horner).
  public static let seriesCoefficients: [Double] = (0...11).reversed().map { n in
    let factorial = (1...max(1, n)).reduce(1.0) { $0 * Double($1) }
    return (n % 2 == 0 ? 1 : -1) * 2 / Double.pi.squareRoot() / (factorial * Double(2 * n + 1))
  }

  /// The polynomial P(t) of the erfc fit (highest power first, for Horner).
  public static let erfcCoefficients: [Double] = [
    0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418, 0.37409196,
    1.00002368, -1.26551223,
  ]

  /// The approximation evaluated in Double: the specification the shader code follows.
  public static func evaluate(_ x: Double) -> Double {
    let z = abs(x)
    guard z >= 1 else { return x * horner(seriesCoefficients, x * x) }
    let t = 1 / (1 + 0.5 * z)
    let erfc = t * exp(-z * z + horner(erfcCoefficients, t))
    return (1 - erfc) * (x < 0 ? -1 : 1)
  }

  static func horner(_ coefficients: [Double], _ x: Double) -> Double {
    coefficients.dropFirst().reduce(coefficients[0]) { $0 * x + $1 }
  }
}

extension KernelTranslator {
  /// erf of an f32 register, as ``ErfApproximation/evaluate(_:)``; NaN stays NaN.
  func erf(_ x: UInt32) -> UInt32 {
    let z = ext(.fAbs, .f32, x)
    let series = op(.fMul, .f32, x, horner(ErfApproximation.seriesCoefficients, op(.fMul, .f32, x, x)))
    let one = b.float32(1)
    let t = op(.fDiv, .f32, one, op(.fAdd, .f32, one, op(.fMul, .f32, z, b.float32(0.5))))
    let exponent = op(
      .fAdd, .f32, op(.fNegate, .f32, op(.fMul, .f32, z, z)), horner(ErfApproximation.erfcCoefficients, t))
    let erfc = op(.fMul, .f32, t, ext(.exp, .f32, exponent))
    let magnitude = op(.fSub, .f32, one, erfc)
    let tail = op(.select, .f32, op(.fOrdLessThan, .bool, x, b.float32(0)), op(.fNegate, .f32, magnitude), magnitude)
    return op(.select, .f32, op(.fOrdLessThan, .bool, z, one), series, tail)
  }

  private func horner(_ coefficients: [Double], _ x: UInt32) -> UInt32 {
    coefficients.dropFirst().reduce(b.float32(Float(coefficients[0]))) { sum, c in
      op(.fAdd, .f32, op(.fMul, .f32, sum, x), b.float32(Float(c)))
    }
  }
}
