import TesseraIR

/// Canonicalization (`canonicalize`): a commutative op (`add`, `mul`, `max`, `min`, and `compare`
/// with `kind = eq` or `ne`) whose first operand is a `constant` and whose second is not gets its
/// operands swapped, so that ``AlgebraicSimplification`` and ``CommonSubexpressionElimination``
/// see one form. Nothing else is reordered.
///
/// Swapping is exact: these ops are commutative bit for bit (including NaN handling) and numpy
/// broadcasting is symmetric.
public struct Canonicalize: GraphPass {
  /// `canonicalize`.
  public let name = "canonicalize"

  /// Creates the pass.
  public init() {}

  /// Puts constant operands of commutative ops second.
  public func run(_ graph: Graph) -> Graph {
    GraphRewriter.rewrite(graph) { rewriter, node in
      guard Self.isCommutative(node), rewriter.literal(of: node.operands[0]) != nil,
        rewriter.literal(of: node.operands[1]) == nil
      else { return .keep(node) }
      var swapped = node
      swapped.operands.reverse()
      return .keep(swapped)
    }
  }

  private static func isCommutative(_ node: Node) -> Bool {
    switch node.kind {
    case .add, .mul, .max, .min: true
    case .compare: ["eq", "ne"].contains(node.attributes.symbol("kind"))
    default: false
    }
  }
}
