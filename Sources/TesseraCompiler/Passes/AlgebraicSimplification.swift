import TesseraIR

/// Algebraic simplification (`simplify`): removes operations that give back their operand and
/// merges chains of movement ops.
///
/// - `x * 1`, `1 * x`, `x + 0`, `0 + x`, `x - 0`, `x / 1` → `x`, when the constant is a splat of
///   exactly that value and the result has `x`'s type (broadcasting changes neither shape nor
///   dtype). `x + 0` gives `x` where IEEE arithmetic would give `+0` for `x = -0`.
/// - `neg (neg x)` → `x`.
/// - `transpose (transpose x)` → one transpose with the composed permutation; a transpose with
///   the identity permutation → `x`; a transpose that moves only axes of size 1 (the axes longer
///   than 1 keep their order: one token's heads in decode attention) → a `reshape` to its result
///   shape, which reads the elements in the same order and needs no kernel.
/// - `reshape (reshape x)` → one reshape of `x`.
/// - `reshape`, `broadcast`, `slice` or `cast` whose result type equals its operand's type (same
///   shape, full range with step 1, same dtype) → `x`.
///
/// Nodes left dead are dropped. Run ``Canonicalize`` first so that constants sit second.
public struct AlgebraicSimplification: GraphPass {
  /// `simplify`.
  public let name = "simplify"

  /// Creates the pass.
  public init() {}

  /// Applies the rules to every node until none fires.
  public func run(_ graph: Graph) -> Graph {
    GraphRewriter.rewrite(graph) { rewriter, node in
      var current = node
      while let rewrite = Self.simplify(current, rewriter) {
        guard case .keep(let changed) = rewrite else { return rewrite }
        current = changed
      }
      return .keep(current)
    }
  }

  /// One rule applied to `node`, or `nil` when none fires.
  private static func simplify(_ node: Node, _ rewriter: GraphRewriter) -> Rewrite? {
    let operand = node.operands.first
    let producer = operand.flatMap(rewriter.producer(of:))
    switch node.kind {
    case .add, .sub, .mul, .div:
      return identityOperand(node, rewriter).map { .replace(with: $0) }
    case .neg where producer?.kind == .neg:
      return .replace(with: producer!.operands[0])
    case .transpose:
      let perm = permutation(node, rewriter)
      if perm == Array(perm.indices) { return .replace(with: operand!) }
      let dims = rewriter.type(of: operand!).shape.dims
      let longAxes = perm.filter { dims[$0] != 1 }
      if longAxes == longAxes.sorted() {
        return .keep(
          Node(
            kind: .reshape, operands: [operand!],
            attributes: ["shape": .ints(rewriter.type(of: node.result).shape.dims)], result: node.result))
      }
      guard let producer, producer.kind == .transpose else { return nil }
      let inner = permutation(producer, rewriter)
      var merged = node
      merged.operands = producer.operands
      merged.attributes = ["perm": .ints(perm.map { inner[$0] })]
      return .keep(merged)
    case .reshape, .broadcast, .slice, .cast:
      if rewriter.type(of: node.result) == rewriter.type(of: operand!) { return .replace(with: operand!) }
      guard node.kind == .reshape, let producer, producer.kind == .reshape else { return nil }
      var merged = node
      merged.operands = producer.operands
      return .keep(merged)
    default:
      return nil
    }
  }

  /// The operand `x` of `x op c` (or `c op x` for `add` and `mul`) when `c` is a splat of the
  /// op's identity and the result has `x`'s type.
  private static func identityOperand(_ node: Node, _ rewriter: GraphRewriter) -> ValueID? {
    let identity: Double = node.kind == .mul || node.kind == .div ? 1 : 0
    let commutes = node.kind == .add || node.kind == .mul
    let candidates = commutes ? [(0, 1), (1, 0)] : [(0, 1)]
    for (kept, constant) in candidates {
      let x = node.operands[kept]
      guard rewriter.type(of: node.result) == rewriter.type(of: x),
        let literal = rewriter.literal(of: node.operands[constant]),
        literal.doubles.allSatisfy({ $0 == identity })
      else { continue }
      return x
    }
    return nil
  }

  /// A transpose's permutation (its operand's axes reversed when the attribute is absent).
  private static func permutation(_ node: Node, _ rewriter: GraphRewriter) -> [Int] {
    node.attributes.ints("perm") ?? Array((0..<rewriter.type(of: node.operands[0]).shape.rank).reversed())
  }
}
