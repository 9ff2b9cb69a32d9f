import TesseraIR

/// Computes the value of a small graph at compile time. ``ConstantFolding`` uses it so that the
/// compiler does not depend on a backend; TesseraCPU's `ReferenceConstantEvaluator` runs the
/// reference evaluator.
public protocol ConstantEvaluator: Sendable {
  /// The results of `graph` for `inputs` (in argument order), or `nil` when it cannot be
  /// evaluated (the node is then left as it is).
  func evaluate(_ graph: Graph, inputs: [Tensor]) -> [Tensor]?
}

/// Constant folding (`constant-fold`): a node whose operands are all `constant` nodes becomes a
/// `constant` holding its value, computed by a ``ConstantEvaluator``. Folding runs in graph order,
/// so chains of constant ops fold completely; operands left dead are dropped.
///
/// Results with more than ``maxElements`` elements are not folded, so that a broadcast or a
/// dequantized weight does not bloat the graph with a large literal; the exception is a
/// `transpose` of a constant that nothing else reads (an imported `Gemm`'s `transB` weight),
/// whose folded value takes the place of that constant, so the graph does not grow.
public struct ConstantFolding: GraphPass {
  /// `constant-fold`.
  public let name = "constant-fold"
  /// Computes folded values.
  public var evaluator: any ConstantEvaluator
  /// The largest result, in elements, that is folded.
  public var maxElements: Int

  /// Creates the pass.
  public init(evaluator: any ConstantEvaluator, maxElements: Int = 65_536) {
    self.evaluator = evaluator
    self.maxElements = maxElements
  }

  /// Replaces every foldable node by a constant with the same result value.
  public func run(_ graph: Graph) -> Graph {
    var uses: [ValueID: Int] = [:]
    for node in graph.nodes {
      for operand in Set(node.operands) { uses[operand, default: 0] += 1 }
    }
    for result in graph.results { uses[result, default: 0] += 1 }
    return GraphRewriter.rewrite(graph) { rewriter, node in
      let replacesItsOperand = node.kind == .transpose && node.operands.count == 1 && uses[node.operands[0]] == 1
      guard let literal = folded(node, rewriter, anySize: replacesItsOperand) else { return .keep(node) }
      return .keep(Node(kind: .constant, operands: [], result: node.result, literal: literal))
    }
  }

  /// The value of `node` when all its operands are constants and the result is small enough
  /// (or `anySize`).
  private func folded(_ node: Node, _ rewriter: GraphRewriter, anySize: Bool) -> Tensor? {
    let type = rewriter.type(of: node.result)
    guard node.kind != .constant, anySize || type.shape.count <= maxElements else { return nil }
    var arguments: [ValueID] = []
    for operand in node.operands where !arguments.contains(operand) { arguments.append(operand) }
    let inputs = arguments.compactMap(rewriter.literal(of:))
    guard inputs.count == arguments.count else { return nil }
    let single = Graph(
      name: rewriter.graph.name, values: rewriter.graph.values, arguments: arguments, nodes: [node],
      results: [node.result])
    guard let results = evaluator.evaluate(single, inputs: inputs), results.count == 1, results[0].type == type
    else { return nil }
    return results[0]
  }
}
