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
  /// `max(0, min(1, x/6 + 1/2))`, PyTorch's `Hardsigmoid` (ONNX `HardSigmoid` with its export's
  /// alpha 1/6 and beta 1/2).
  case hardSigmoid
  /// `x · hardSigmoid(x)`, ONNX `HardSwish` (PyTorch's `Hardswish`).
  case hardSwish
  /// `tanh(x)` (BERT's pooler).
  case tanh
  /// `1 / (1 + e^-x)`.
  case sigmoid

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
    case .hardSigmoid: Self.hardSigmoid(x)
    case .hardSwish: x * Self.hardSigmoid(x)
    case .tanh: Foundation.tanh(x)
    case .sigmoid: 1 / (1 + Foundation.exp(-x))
    }
  }

  /// The activation of `count` values at `values`, in place: the exact GELU eight lanes at a time
  /// with ``VectorErf`` (glibc's `erff` per element was about a tenth of BERT's time on `cpu`),
  /// the others one by one.
  @inline(__always)
  func apply(_ values: UnsafeMutablePointer<Float>, count: Int) {
    guard self == .gelu else {
      for j in 0..<count { values[j] = apply(values[j]) }
      return
    }
    let gelu = { (x: SIMD8<Float>) in 0.5 * x * (1 + VectorErf.erf(x * Float(0.5).squareRoot())) }
    let raw = UnsafeMutableRawPointer(values)
    var start = 0
    while start + 8 <= count {
      raw.storeBytes(
        of: gelu(raw.loadUnaligned(fromByteOffset: start * 4, as: SIMD8<Float>.self)), toByteOffset: start * 4,
        as: SIMD8<Float>.self)
      start += 8
    }
    guard start < count else { return }
    var x = SIMD8<Float>()
    for lane in 0..<(count - start) { x[lane] = values[start + lane] }
    let y = gelu(x)
    for lane in 0..<(count - start) { values[start + lane] = y[lane] }
  }

  /// `max(0, min(1, x · (1/6) + 1/2))`, rounded as the importer's `mul`, `add`, `min`, `max` are.
  @inline(__always)
  private static func hardSigmoid(_ x: Float) -> Float {
    Swift.max(0, Swift.min(1, x * Float(1.0 / 6) + 0.5))
  }
}

/// What a GEMM does to each finished row of C:
/// `C = activation(scale·A·B + bias + rowBias) * gateActivation(gate) + residual` (a SwiGLU
/// feed-forward's `silu(x·Wg) * (x·Wu)` is the `x·Wu` GEMM gated by `silu` of the other GEMM's
/// result), or with ``residualBeforeActivation`` `activation(scale·A·B + bias + rowBias + residual)`
/// (a convolution's residual block).
public struct GEMMEpilogue: @unchecked Sendable {
  /// Multiplies the product first (attention's `1/√d`), or nil.
  public var scale: Float?
  /// `n` floats added to every row, or nil.
  public var bias: UnsafePointer<Float>?
  /// `m` floats, `rowBias[i]` added to every element of row `i` (a convolution's bias per output
  /// channel), or nil.
  public var rowBias: UnsafePointer<Float>?
  /// Applied after the bias.
  public var activation: GEMMActivation
  /// A row-major `m × n` matrix (row stride ``residualStride``) added last, or nil.
  public var residual: UnsafePointer<Float>?
  /// Row stride of ``residual``.
  public var residualStride: Int
  /// `m` floats, `residualRowBias[i]` added with row `i` of ``residual`` (a downsampling
  /// convolution's bias), or nil.
  public var residualRowBias: UnsafePointer<Float>?
  /// Whether ``residual`` is added before the activation (then there is no gate) instead of last.
  public var residualBeforeActivation: Bool
  /// A row-major `m × n` matrix (row stride ``gateStride``) that multiplies the result after
  /// ``gateActivation``, or nil.
  public var gate: UnsafePointer<Float>?
  /// Applied to each ``gate`` element before it multiplies.
  public var gateActivation: GEMMActivation
  /// Row stride of ``gate``.
  public var gateStride: Int

  /// No epilogue.
  public static let none = GEMMEpilogue()

  /// Creates an epilogue. `@unchecked Sendable`: it only carries read-only pointers that the
  /// caller keeps alive for the GEMM call.
  public init(
    scale: Float? = nil, bias: UnsafePointer<Float>? = nil, rowBias: UnsafePointer<Float>? = nil,
    activation: GEMMActivation = .identity, residual: UnsafePointer<Float>? = nil,
    residualStride: Int = 0, residualBeforeActivation: Bool = false, residualRowBias: UnsafePointer<Float>? = nil,
    gate: UnsafePointer<Float>? = nil,
    gateActivation: GEMMActivation = .identity, gateStride: Int = 0
  ) {
    self.scale = scale
    self.bias = bias
    self.rowBias = rowBias
    self.activation = activation
    self.residual = residual
    self.residualStride = residualStride
    self.residualBeforeActivation = residualBeforeActivation
    self.residualRowBias = residualRowBias
    self.gate = gate
    self.gateActivation = gateActivation
    self.gateStride = gateStride
  }

  /// Whether it changes anything.
  var isIdentity: Bool {
    scale == nil && bias == nil && rowBias == nil && activation == .identity && residual == nil && gate == nil
  }

  /// The epilogue of the product's rows from `row` on (a convolution group's output channels):
  /// the per-row operands and the matrices start `row` rows later.
  func startingAt(row: Int) -> GEMMEpilogue {
    guard row != 0 else { return self }
    var shifted = self
    shifted.rowBias = rowBias.map { $0 + row }
    shifted.residualRowBias = residualRowBias.map { $0 + row }
    shifted.residual = residual.map { $0 + row * residualStride }
    shifted.gate = gate.map { $0 + row * gateStride }
    return shifted
  }

  /// Applies to `C[row, columns]` (C's row stride `ldc`).
  @inline(__always)
  func apply(row: Int, columns: Range<Int>, c: UnsafeMutablePointer<Float>, ldc: Int) {
    let out = c + row * ldc
    if let scale { for j in columns { out[j] *= scale } }
    if let bias { for j in columns { out[j] += bias[j] } }
    if let rowBias {
      let add = rowBias[row]
      for j in columns { out[j] += add }
    }
    if residualBeforeActivation { addResidual(row: row, columns: columns, to: out) }
    if activation != .identity { activation.apply(out + columns.lowerBound, count: columns.count) }
    if let gate {
      let factor = gate + row * gateStride
      for j in columns { out[j] *= gateActivation.apply(factor[j]) }
    }
    if !residualBeforeActivation { addResidual(row: row, columns: columns, to: out) }
  }

  /// Adds row `row` of ``residual`` (if any) to `out[columns]`.
  @inline(__always)
  private func addResidual(row: Int, columns: Range<Int>, to out: UnsafeMutablePointer<Float>) {
    guard let residual else { return }
    let add = residual + row * residualStride
    let extra = residualRowBias?[row] ?? 0
    for j in columns { out[j] += add[j] + extra }
  }
}
