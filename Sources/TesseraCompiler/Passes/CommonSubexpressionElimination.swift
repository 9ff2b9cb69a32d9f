import TesseraIR

/// Common-subexpression elimination (`cse`): a node with the same kind, operands, attributes and
/// literal as an earlier node is dropped and its uses read the earlier node's result (the first
/// one wins); the nodes left dead are then dropped.
///
/// Every op of the IR is pure, so two such nodes always compute the same value. Run
/// ``Canonicalize`` first so that `add %x, %c` and `add %c, %x` look alike.
public struct CommonSubexpressionElimination: GraphPass {
  /// `cse`.
  public let name = "cse"

  /// Creates the pass.
  public init() {}

  /// Merges equal nodes.
  public func run(_ graph: Graph) -> Graph {
    var first: [Key: ValueID] = [:]
    return GraphRewriter.rewrite(graph) { _, node in
      let key = Key(kind: node.kind, operands: node.operands, attributes: node.attributes, literal: node.literal)
      if let earlier = first[key] { return .replace(with: earlier) }
      first[key] = node.result
      return .keep(node)
    }
  }

  /// Everything that decides a node's value (the result type follows from it).
  private struct Key: Hashable {
    var kind: OpKind
    var operands: [ValueID]
    var attributes: Attributes
    var literal: Tensor?
  }
}
