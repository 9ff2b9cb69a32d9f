import TesseraIR

/// Decomposition (`decompose`): rewrites composite ops into core ops, for targets that lack them.
///
/// Each expansion follows the reference evaluator's definition (DESIGN.md), with `axis` reduced
/// with `keepdims` and scalar constants of the operand's dtype:
///
/// - `softmax(x)` = `e / reduce_sum(e)` with `e = exp(x - reduce_max(x))`
/// - `rms_norm(x, w)` = `x * rsqrt(reduce_mean(x * x) + epsilon) * w`
/// - `layer_norm(x, w?, b?)` = `(x - m) * rsqrt(reduce_mean((x - m)^2) + epsilon) [* w] [+ b]`
///   with `m = reduce_mean(x)`
/// - `silu(x)` = `x * sigmoid(x)`; `sigmoid(x)` = `reciprocal(exp(-x) + 1)`
/// - `gelu(x)` = `x * 0.5 * (erf(x / sqrt(2)) + 1)`, or with `{approximate = tanh}`
///   `x * 0.5 * (tanh((x + x^3 * 0.044715) * sqrt(2 / pi)) + 1)`
///
/// The expansion computes in the operand's dtype, rounding after every op. For f32 it agrees
/// with the fused reference within 1e-5 relative (1e-6 absolute near zero); for f16 and bf16 it
/// can differ more, because the fused reference accumulates in double and rounds once.
public struct DecomposeComposites: GraphPass {
  /// `decompose`.
  public let name = "decompose"
  /// The ops to rewrite; ops without a decomposition here (`rope`) are left as they are.
  public var kinds: Set<OpKind>

  /// The ops decomposed by default: every op with a decomposition here.
  public static let decomposable: Set<OpKind> = [.softmax, .rmsNorm, .layerNorm, .gelu, .silu, .sigmoid]

  /// Creates the pass for `kinds`.
  public init(kinds: Set<OpKind> = DecomposeComposites.decomposable) { self.kinds = kinds }

  /// Replaces every op of ``kinds`` by its expansion; the last op of an expansion keeps the
  /// original result name.
  public func run(_ graph: Graph) -> Graph {
    GraphRewriter.rewrite(graph) { rewriter, node in
      let hint = rewriter.graph[node.result].name
      guard let last = expansion(node.kind, node.operands, node.attributes, &rewriter, hint: hint) else {
        return .keep(node)
      }
      return .keep(Node(kind: last.kind, operands: last.operands, attributes: last.attributes, result: node.result))
    }
  }

  /// An op not yet emitted: the last op of an expansion.
  private struct Op {
    var kind: OpKind
    var operands: [ValueID]
    var attributes: Attributes = [:]
  }

  /// Emits all but the last op of `kind`'s expansion and returns the last; `nil` when `kind` is
  /// not to be decomposed.
  private func expansion(
    _ kind: OpKind, _ operands: [ValueID], _ attributes: Attributes, _ rewriter: inout GraphRewriter, hint: String
  ) -> Op? {
    guard kinds.contains(kind) else { return nil }
    let x = operands[0]
    let type = rewriter.type(of: x)
    func emit(_ kind: OpKind, _ operands: [ValueID], _ attributes: Attributes = [:]) -> ValueID {
      let name = "\(hint).\(kind)"
      guard let last = expansion(kind, operands, attributes, &rewriter, hint: name) else {
        return rewriter.emit(kind, operands, attributes: attributes, hint: name)
      }
      return rewriter.emit(last.kind, last.operands, attributes: last.attributes, hint: name)
    }
    func constant(_ value: Double) -> ValueID { rewriter.constant(value, type.dtype, hint: "\(hint).c") }
    let axis = type.shape.normalizedAxis(attributes.int("axis") ?? -1) ?? 0
    let reduction: Attributes = ["axes": .ints([axis]), "keepdims": .bool(true)]
    switch kind {
    case .softmax:
      let shifted = emit(.sub, [x, emit(.reduceMax, [x], reduction)])
      let exps = emit(.exp, [shifted])
      return Op(kind: .div, operands: [exps, emit(.reduceSum, [exps], reduction)])
    case .rmsNorm:
      let meanSquare = emit(.reduceMean, [emit(.mul, [x, x])], reduction)
      let epsilon = constant(attributes.double("epsilon") ?? 1e-6)
      let scale = emit(.rsqrt, [emit(.add, [meanSquare, epsilon])])
      return Op(kind: .mul, operands: [emit(.mul, [x, scale]), operands[1]])
    case .layerNorm:
      let centered = emit(.sub, [x, emit(.reduceMean, [x], reduction)])
      let variance = emit(.reduceMean, [emit(.mul, [centered, centered])], reduction)
      let epsilon = constant(attributes.double("epsilon") ?? 1e-5)
      let normalized = Op(kind: .mul, operands: [centered, emit(.rsqrt, [emit(.add, [variance, epsilon])])])
      guard operands.count > 1 else { return normalized }
      let scaled = Op(kind: .mul, operands: [emit(normalized.kind, normalized.operands), operands[1]])
      guard operands.count > 2 else { return scaled }
      return Op(kind: .add, operands: [emit(scaled.kind, scaled.operands), operands[2]])
    case .silu:
      return Op(kind: .mul, operands: [x, emit(.sigmoid, [x])])
    case .sigmoid:
      return Op(kind: .reciprocal, operands: [emit(.add, [emit(.exp, [emit(.neg, [x])]), constant(1)])])
    case .gelu:
      let inner: ValueID
      if attributes.symbol("approximate") == "tanh" {
        let cube = emit(.mul, [emit(.mul, [x, x]), x])
        let polynomial = emit(.add, [x, emit(.mul, [cube, constant(0.044715)])])
        inner = emit(.tanh, [emit(.mul, [polynomial, constant((2 / Double.pi).squareRoot())])])
      } else {
        inner = emit(.erf, [emit(.div, [x, constant(2.0.squareRoot())])])
      }
      return Op(kind: .mul, operands: [emit(.mul, [x, constant(0.5)]), emit(.add, [inner, constant(1)])])
    default:
      return nil
    }
  }
}
