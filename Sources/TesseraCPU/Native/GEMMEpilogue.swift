import Foundation

/// An activation applied elementwise after a GEMM.
public enum GEMMActivation: Sendable, Hashable {
  /// None.
  case identity
  /// `max(x, 0)`.
  case relu
  /// `x * sigmoid(x)`.
  case silu
  /// The exact erf form of GELU.
  case gelu
  /// The tanh approximation of GELU.
  case geluTanh

  /// The activation of one value, with the reference evaluator's formulas.
  @inline(__always)
  func apply(_ x: Float) -> Float {
    switch self {
    case .identity: x
    case .relu: Swift.max(x, 0)
    case .silu: x / (1 + Foundation.exp(-x))
    case .gelu: 0.5 * x * (1 + Foundation.erf(x / Float(2).squareRoot()))
    case .geluTanh:
      0.5 * x * (1 + Foundation.tanh((2 / Float.pi).squareRoot() * (x + 0.044715 * x * x * x)))
    }
  }
}

/// What a GEMM does to each finished row of C: `C = activation(A·B + bias) + residual`.
public struct GEMMEpilogue: @unchecked Sendable {
  /// `n` floats added to every row, or nil.
  public var bias: UnsafePointer<Float>?
  /// Applied after the bias.
  public var activation: GEMMActivation
  /// A row-major `m × n` matrix (row stride ``residualStride``) added last, or nil.
  public var residual: UnsafePointer<Float>?
  /// Row stride of ``residual``.
  public var residualStride: Int

  /// No epilogue.
  public static let none = GEMMEpilogue()

  /// Creates an epilogue. `@unchecked Sendable`: it only carries read-only pointers that the
  /// caller keeps alive for the GEMM call.
  public init(
    bias: UnsafePointer<Float>? = nil, activation: GEMMActivation = .identity, residual: UnsafePointer<Float>? = nil,
    residualStride: Int = 0
  ) {
    self.bias = bias
    self.activation = activation
    self.residual = residual
    self.residualStride = residualStride
  }

  /// Whether it changes anything.
  var isIdentity: Bool { bias == nil && activation == .identity && residual == nil }

  /// Applies to `C[row, columns]` (C's row stride `ldc`).
  @inline(__always)
  func apply(row: Int, columns: Range<Int>, c: UnsafeMutablePointer<Float>, ldc: Int) {
    let out = c + row * ldc
    if let bias { for j in columns { out[j] += bias[j] } }
    if activation != .identity { for j in columns { out[j] = activation.apply(out[j]) } }
    if let residual {
      let add = residual + row * residualStride
      for j in columns { out[j] += add[j] }
    }
  }
}
