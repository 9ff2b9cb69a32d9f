/// Every operation of the tensor IR, one flat enum. The raw value is the `.tir` spelling.
///
/// Semantics follow numpy; DESIGN.md's "Core ops" section is the specification and the reference
/// evaluator in TesseraCPU is its executable form.
public enum OpKind: String, CaseIterable, Sendable, Hashable, CustomStringConvertible {
  // Binary elementwise (numpy broadcasting).
  case add, sub, mul, div, max, min, pow
  // Unary elementwise.
  case neg, abs, exp, log, sqrt, rsqrt, reciprocal, tanh, sigmoid, silu, gelu, relu, sin, cos, erf
  // Comparison, selection, conversion.
  case compare, select, cast
  // Reductions.
  case reduceSum = "reduce_sum", reduceMax = "reduce_max", reduceMin = "reduce_min"
  case reduceMean = "reduce_mean", argmax
  // Contraction.
  case matmul
  // Movement.
  case transpose, reshape, broadcast, slice, concat, gather
  /// `base` with a slab along an axis replaced by `update` at a run-time start (state updated in place).
  case updateSlice = "update_slice"
  // Composite (decomposed by the compiler for targets that lack them).
  case softmax, rmsNorm = "rms_norm", layerNorm = "layer_norm", rope
  // Sliding windows over NCHW tensors, and padding (rewritten into core ops for every target).
  case conv2d, maxPool2d = "max_pool2d", avgPool2d = "avg_pool2d", pad
  // Quantization and literals.
  case dequantize, constant

  /// The `.tir` spelling.
  public var description: String { rawValue }

  /// The op family, which decides verifier rules and how backends treat the op.
  public var family: OpFamily {
    switch self {
    case .add, .sub, .mul, .div, .max, .min, .pow: .binary
    case .neg, .abs, .exp, .log, .sqrt, .rsqrt, .reciprocal, .tanh, .sigmoid, .silu, .gelu, .relu,
      .sin, .cos, .erf:
      .unary
    case .compare, .select, .cast: .elementwiseOther
    case .reduceSum, .reduceMax, .reduceMin, .reduceMean, .argmax: .reduction
    case .matmul: .contraction
    case .transpose, .reshape, .broadcast, .slice, .concat, .gather, .updateSlice: .movement
    case .softmax, .rmsNorm, .layerNorm, .rope: .composite
    case .conv2d, .maxPool2d, .avgPool2d, .pad: .window
    case .dequantize, .constant: .source
    }
  }

  /// True for ops that compute each output element from the same-index input elements.
  public var isElementwise: Bool {
    family == .unary || family == .binary || family == .elementwiseOther
  }
}

/// Groups of ops that share verifier rules and lowering strategy.
public enum OpFamily: Sendable, Hashable {
  /// Two operands, numpy broadcasting.
  case binary
  /// One operand, same type out.
  case unary
  /// `compare`, `select`, `cast`.
  case elementwiseOther
  /// Reductions over axes.
  case reduction
  /// `matmul`.
  case contraction
  /// Shape and data movement.
  case movement
  /// Ops with a decomposition into simpler ops.
  case composite
  /// `conv2d`, `max_pool2d`, `avg_pool2d` (sliding windows, ``WindowGeometry``) and `pad`: the
  /// compiler rewrites them into core ops for every target.
  case window
  /// `dequantize` and `constant`.
  case source
}

/// The comparison made by `compare {kind = …}`.
public enum CompareKind: String, CaseIterable, Sendable, Hashable {
  case lt, le, gt, ge, eq, ne

  /// Whether `x kind y` holds (false for NaN operands except `ne`, as in IEEE and numpy).
  @inlinable
  public func holds<T: Comparable>(_ x: T, _ y: T) -> Bool {
    switch self {
    case .lt: x < y
    case .le: x <= y
    case .gt: x > y
    case .ge: x >= y
    case .eq: x == y
    case .ne: x != y
    }
  }
}
