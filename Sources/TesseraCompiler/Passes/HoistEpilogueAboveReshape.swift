import TesseraIR

/// Moves the elementwise ops that follow a matmul product's reshape above that reshape
/// (`hoist-epilogue-above-reshape`): `op(reshape(p), c)` becomes `reshape(op(p, c'))` when `p` is
/// a `matmul` product (or the result of an op this pass already moved), the reshape only splits
/// `p`'s last axis, and every other operand `c` is constant along the split axes (`c'` merges them
/// into one axis of size 1) or has exactly them (`c'` merges them into `p`'s last axis).
///
/// A decomposed convolution ends in `reshape(matmul(W, columns))` to `[N, O, OH, OW]`; its bias
/// `add` of `[O, 1, 1]`, its activation and a residual `add` then act on the `[N, O, OH·OW]`
/// product, where fusion makes them the matmul's epilogue (a bias along the product's rows).
public struct HoistEpilogueAboveReshape: GraphPass {
  /// `hoist-epilogue-above-reshape`.
  public let name = "hoist-epilogue-above-reshape"

  /// Creates the pass.
  public init() {}

  /// Moves every qualifying unary or binary f32 op above its operand's reshape.
  public func run(_ graph: Graph) -> Graph {
    var products: Set<ValueID> = []
    return GraphRewriter.rewrite(graph) { rewriter, node in
      if node.kind == .matmul { products.insert(node.result) }
      guard node.kind.family == .unary || node.kind.family == .binary,
        let (hoisted, value) = Self.hoist(node, &rewriter, products: products)
      else { return .keep(node) }
      products.insert(value)
      return .keep(hoisted)
    }
  }

  /// The reshape that replaces `node` and the value of the moved op, or nil when `node` does not
  /// qualify.
  private static func hoist(_ node: Node, _ rewriter: inout GraphRewriter, products: Set<ValueID>) -> (Node, ValueID)? {
    let f32 = node.operands.allSatisfy { rewriter.type(of: $0).dtype == .f32 }
    guard f32, rewriter.type(of: node.result).dtype == .f32,
      let split = node.operands.compactMap({ rewriter.producer(of: $0) }).first(where: {
        $0.kind == .reshape && products.contains($0.operands[0])
      })
    else { return nil }
    let product = split.operands[0]
    let source = rewriter.type(of: product).shape.dims
    let target = rewriter.type(of: split.result).shape.dims
    guard rewriter.type(of: node.result).shape.dims == target, let splitCount = splitAxes(from: source, to: target)
    else { return nil }
    var operands: [ValueID] = []
    for operand in node.operands {
      if operand == split.result {
        operands.append(product)
        continue
      }
      let dims = rewriter.type(of: operand).shape.dims
      guard let merged = merge(dims, trailing: Array(target.suffix(splitCount)), into: source.last!) else {
        return nil
      }
      operands.append(
        merged == dims
          ? operand
          : rewriter.emit(
            .reshape, [operand], attributes: ["shape": .ints(merged)], hint: "\(rewriter.graph[operand].name).merged"))
    }
    let value = rewriter.emit(
      node.kind, operands, attributes: node.attributes, hint: "\(rewriter.graph[node.result].name).hoisted")
    guard rewriter.type(of: value).shape.dims == source else { return nil }
    return (Node(kind: .reshape, operands: [value], attributes: ["shape": .ints(target)], result: node.result), value)
  }

  /// How many axes `target` splits `source`'s last axis into, when `target` is `source` with its
  /// last axis split (the leading axes equal), or nil.
  static func splitAxes(from source: [Int], to target: [Int]) -> Int? {
    guard let last = source.last, target.count >= source.count,
      Array(target.prefix(source.count - 1)) == Array(source.dropLast())
    else { return nil }
    let split = target.count - source.count + 1
    return target.suffix(split).reduce(1, *) == last ? split : nil
  }

  /// `dims` (an operand broadcast against the split shape, right-aligned) with the split axes
  /// `split` merged: into one axis of size 1 when it is constant along them, into one axis of
  /// `length` when it has them all; nil otherwise. A scalar stays as it is.
  static func merge(_ dims: [Int], trailing split: [Int], into length: Int) -> [Int]? {
    guard !dims.isEmpty else { return dims }
    let tail = Array(dims.suffix(split.count))
    if tail.allSatisfy({ $0 == 1 }) { return dims.dropLast(tail.count) + [1] }
    return tail == split ? dims.dropLast(split.count) + [length] : nil
  }
}
