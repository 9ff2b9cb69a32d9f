import TesseraIR

/// Puts the matmul groups that read the same left operand (attention's q, k and v projections
/// of one normed input, a feed-forward's gate and up) next to each other in the execution
/// order, so that a backend can run them as one step: the `cpu` device quantizes the shared
/// activation once and computes all of them in one parallel region.
///
/// A later sibling moves up behind the earlier ones together with the groups between them that
/// it needs (a weight's dequantize), unless one of those reads an earlier sibling's result (then
/// it is work that follows the siblings, and the sibling stays where it is). The moved groups
/// keep their order, and the groups they pass do not read them, so the order stays a
/// topological one; every other group keeps its place relative to the rest.
enum SiblingMatmulOrder {
  /// `groups` (in execution order) with the siblings of each shared left operand adjacent.
  static func ordered(_ groups: [FusedGroup], in graph: Graph) -> [FusedGroup] {
    let shared = groups.map { sharedOperand(of: $0, in: graph) }
    var readers: [ValueID: Int] = [:]
    for case let value? in shared { readers[value, default: 0] += 1 }
    guard readers.values.contains(where: { $0 > 1 }) else { return groups }
    let inputs = groups.map { outsideOperands(of: $0, in: graph) }
    var order = Array(groups.indices)
    var position = 0
    while position < order.count {
      guard let operand = shared[order[position]], readers[operand]! > 1 else {
        position += 1
        continue
      }
      var last = position
      for candidate in (position + 1)..<order.count where shared[order[candidate]] == operand {
        let between = Array(order[(last + 1)..<candidate])
        guard
          let needed = movable(order[candidate], from: between, after: Array(order[position...last]), inputs, groups)
        else { continue }
        let staying = between.filter { !needed.contains($0) }
        order.replaceSubrange(
          (last + 1)...candidate, with: between.filter(needed.contains) + [order[candidate]] + staying)
        last += needed.count + 1
      }
      position = last + 1
    }
    return order.map { groups[$0] }
  }

  /// The groups of `between` that `sibling` needs, or nil when one of them reads a `placed`
  /// sibling's result (it is work that follows the siblings, not a weight's preparation).
  private static func movable(
    _ sibling: Int, from between: [Int], after placed: [Int], _ inputs: [Set<ValueID>], _ groups: [FusedGroup]
  ) -> Set<Int>? {
    var needed: Set<Int> = []
    var wanted = inputs[sibling]
    for group in between.reversed() where wanted.contains(groups[group].root) {
      needed.insert(group)
      wanted.formUnion(inputs[group])
    }
    let siblingResults = Set(placed.map { groups[$0].root })
    return needed.allSatisfy { inputs[$0].isDisjoint(with: siblingResults) } ? needed : nil
  }

  /// The left operand of the group's matmul, when the group is a matmul group whose matmul
  /// reads it from outside the group.
  private static func sharedOperand(of group: FusedGroup, in graph: Graph) -> ValueID? {
    guard group.kind == .matmul,
      let matmul = group.nodes.map({ graph.nodes[$0] }).first(where: { $0.kind == .matmul })
    else { return nil }
    let operand = matmul.operands[0]
    return group.nodes.contains { graph.nodes[$0].result == operand } ? nil : operand
  }

  /// The values the group's nodes read from outside it.
  private static func outsideOperands(of group: FusedGroup, in graph: Graph) -> Set<ValueID> {
    let nodes = group.nodes.map { graph.nodes[$0] }
    return Set(nodes.flatMap(\.operands)).subtracting(nodes.map(\.result))
  }
}
