/// The rules of `update_slice` that the runtime and the compiler share: where its start may
/// point, and when it updates a function argument in place.
///
/// `%r = update_slice %base, %update, %start {axis = a}` is `base` with the slab
/// `[start, start + update.dims[a])` along axis `a` replaced by `update`. A start outside
/// `0...base.dims[a] - update.dims[a]` is an error; compiled kernels write nothing then.
/// When `base` is a function argument that no other node reads and that is not returned, the
/// update is made in place: the result's bytes are the argument's (a KV cache written at one
/// position per decode step, with nothing copied).
public enum UpdateSlice {
  /// The axis of `node` (non-negative).
  public static func axis(of node: Node, in graph: Graph) -> Int {
    graph.type(of: node.operands[0]).shape.normalizedAxis(node.attributes.int("axis") ?? 0)!
  }

  /// Why `start` is out of range for `node`, or `nil` when the update fits.
  public static func rangeProblem(_ node: Node, in graph: Graph, start: Int) -> String? {
    let (axis, size, length) = extent(of: node, in: graph)
    guard start < 0 || start + length > size else { return nil }
    return "start \(start) puts \(length) row\(length == 1 ? "" : "s") outside 0..<\(size) along axis \(axis)"
  }

  /// The starts at which `node` fits (``rangeProblem(_:in:start:)`` is `nil` for exactly these):
  /// `0...base.dims[a] - update.dims[a]`, empty when the update is longer than its base. A caller
  /// checking many starts against one node works it out once.
  public static func validStarts(of node: Node, in graph: Graph) -> Range<Int> {
    let (_, size, length) = extent(of: node, in: graph)
    return 0..<Swift.max(0, size - length + 1)
  }

  /// The axis of `node`, and the lengths of its base and its update along it.
  private static func extent(of node: Node, in graph: Graph) -> (axis: Int, size: Int, length: Int) {
    let axis = axis(of: node, in: graph)
    return (
      axis, graph.type(of: node.operands[0]).shape.dims[axis], graph.type(of: node.operands[1]).shape.dims[axis]
    )
  }

  /// The argument `node` (an `update_slice`) overwrites in place, or `nil` when it computes a new
  /// tensor: its base must be an argument read by no other node and not returned.
  public static func inPlaceBase(of node: Node, in graph: Graph) -> ValueID? {
    guard node.kind == .updateSlice else { return nil }
    let base = node.operands[0]
    guard graph.arguments.contains(base), !graph.results.contains(base),
      node.operands.dropFirst().allSatisfy({ $0 != base })
    else { return nil }
    let readers = graph.nodes.filter { $0.operands.contains(base) }.count
    return readers == 1 ? base : nil
  }
}

extension Graph {
  /// The results that update an argument in place (``UpdateSlice/inPlaceBase(of:in:)``): result
  /// position → argument position.
  public var inPlaceUpdates: [Int: Int] {
    let producers = definingNode
    var updates: [Int: Int] = [:]
    for (position, result) in results.enumerated() {
      guard let index = producers[result], let base = UpdateSlice.inPlaceBase(of: nodes[index], in: self) else {
        continue
      }
      updates[position] = arguments.firstIndex(of: base)
    }
    return updates
  }
}

extension GraphBuilder {
  /// `base` with the slab at `start` (one integer) along `axis` replaced by `update`.
  public func updateSlice(_ base: ValueID, _ update: ValueID, start: ValueID, axis: Int = 0, name: String? = nil)
    -> ValueID
  {
    op(.updateSlice, [base, update, start], attributes: ["axis": .int(axis)], name: name)
  }
}
