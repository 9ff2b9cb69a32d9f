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

  /// `out[j] = activation(out[j])` for `j` in `columns`, or with `gate`,
  /// `out[j] *= activation(gate[j])`, with the reference evaluator's formulas. The switch is
  /// outside the loops, so each loop is one activation's straight-line code: the piecewise-linear
  /// ones vectorise (a switch per element cost MobileNetV3 about a quarter of its run on cpu), and
  /// SiLU, sigmoid and both GELUs run sixteen lanes at a time on ``VectorExp`` and ``VectorErf``.
  @inline(__always)
  func apply(to out: UnsafeMutablePointer<Float>, columns: Range<Int>, gate: UnsafePointer<Float>? = nil) {
    switch self {
    case .identity: map(out, columns, gate) { $0 }
    case .relu: map(out, columns, gate) { Swift.max($0, 0) }
    case .hardSigmoid: map(out, columns, gate) { Self.hardSigmoid($0) }
    case .hardSwish: map(out, columns, gate) { $0 * Self.hardSigmoid($0) }
    case .tanh: map(out, columns, gate) { Foundation.tanh($0) }
    case .silu, .gelu, .geluTanh, .sigmoid: mapSixteen(out, columns, gate) { self.sixteen($0) }
    }
  }

  /// The activation of sixteen lanes, with the same formulas.
  @inline(__always)
  func sixteen(_ x: SIMD16<Float>) -> SIMD16<Float> {
    switch self {
    case .identity: return x
    case .relu: return VectorLanes.larger(SIMD16(), x)
    case .silu: return x / (1 + VectorExp.exp(-x))
    case .gelu: return 0.5 * x * (1 + VectorErf.erf(x * Float(0.5).squareRoot()))
    case .geluTanh:
      // 0.5 · x · (1 + tanh u) is x · sigmoid(2u): no scalar tanhf (glibc's, through expm1f, was
      // about 14% of Gemma 3's prefill on cpu) and no cancellation in 1 + tanh u where u < 0.
      let u = (2 / Float.pi).squareRoot() * (x + 0.044715 * x * x * x)
      return x / (1 + VectorExp.exp(-2 * u))
    case .hardSigmoid: return Self.hardSigmoid(x)
    case .hardSwish: return x * Self.hardSigmoid(x)
    case .tanh:
      var y = x
      for lane in 0..<16 { y[lane] = Foundation.tanh(x[lane]) }
      return y
    case .sigmoid: return 1 / (1 + VectorExp.exp(-x))
    }
  }

  /// ``map(_:_:_:_:)`` sixteen lanes at a time, one AVX-512 register (glibc's `erff` and `expf`
  /// per element were about a tenth of BERT's time on `cpu`; eight lanes at a time, BERT's GELU
  /// epilogue still took a fifth of its feed-forward GEMM); the last partial vector goes through
  /// the same `f`.
  @inline(__always)
  private func mapSixteen(
    _ out: UnsafeMutablePointer<Float>, _ columns: Range<Int>, _ gate: UnsafePointer<Float>?,
    _ f: (SIMD16<Float>) -> SIMD16<Float>
  ) {
    let input = gate ?? UnsafePointer(out)
    var j = columns.lowerBound
    while j + 16 <= columns.upperBound {
      let value = f(UnsafeRawPointer(input + j).loadUnaligned(as: SIMD16<Float>.self))
      let target = UnsafeMutableRawPointer(out + j)
      target.storeBytes(
        of: gate == nil ? value : value * target.loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
      j += 16
    }
    guard j < columns.upperBound else { return }
    let count = columns.upperBound - j
    var x = SIMD16<Float>()
    for lane in 0..<count { x[lane] = input[j + lane] }
    let y = f(x)
    for lane in 0..<count { out[j + lane] = gate == nil ? y[lane] : out[j + lane] * y[lane] }
  }

  /// `out[j] = f(out[j])`, or with `gate`, `out[j] *= f(gate[j])`, over `columns`.
  @inline(__always)
  private func map(
    _ out: UnsafeMutablePointer<Float>, _ columns: Range<Int>, _ gate: UnsafePointer<Float>?, _ f: (Float) -> Float
  ) {
    if let gate {
      for j in columns { out[j] *= f(gate[j]) }
    } else {
      for j in columns { out[j] = f(out[j]) }
    }
  }

  /// `max(0, min(1, x · (1/6) + 1/2))`, rounded as the importer's `mul`, `add`, `min`, `max` are.
  @inline(__always)
  private static func hardSigmoid(_ x: Float) -> Float {
    Swift.max(0, Swift.min(1, x * Float(1.0 / 6) + 0.5))
  }

  /// ``hardSigmoid(_:)`` in each lane (NaN to 1, as there).
  @inline(__always)
  private static func hardSigmoid(_ x: SIMD16<Float>) -> SIMD16<Float> {
    VectorLanes.larger(VectorLanes.smaller(x * Float(1.0 / 6) + 0.5, SIMD16(repeating: 1)), SIMD16())
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

  /// Whether it is at most a bias per row and an activation (which a kernel holding a row's
  /// values in a vector lane can apply itself, ``rowBias`` a vector of rows at a time).
  var isRowBiasAndActivation: Bool {
    scale == nil && bias == nil && residual == nil && gate == nil
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
    if activation != .identity { activation.apply(to: out, columns: columns) }
    if let gate { gateActivation.apply(to: out, columns: columns, gate: gate + row * gateStride) }
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
