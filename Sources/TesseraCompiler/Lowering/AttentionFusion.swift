import TesseraIR

/// Merges a decode step's attention into one group (``GroupKind/attention``) on targets that
/// generate its kernel (``TargetCapabilities/fusesAttention``): the scores' matmul group (with
/// its epilogue: `· 1/√d`, a soft cap, a mask), the elementwise group masking them, the
/// softmax over the keys and the matmul group multiplying the weights by the values, with the
/// reshapes between them. One workgroup per row of scores then computes them into shared
/// memory, the softmax and that row of the output (``KernelGenerator/attention(_:lanes:_:_:)``),
/// where four or five kernels passed the scores and the weights through memory.
///
/// A chain is merged only when nothing else reads its intermediate values, the softmax runs
/// over the last axis, the reshapes between the parts keep that axis, the keys fit in
/// ``maximumKeys`` and both matmuls are small (`isSmall`: a decode step's, which the generated
/// kernel runs; a prefill's go to the kernel library).
enum AttentionFusion {
  /// The most keys a row of scores may have: they are held in shared memory (8 KiB).
  static let maximumKeys = 2048

  /// The nodes of a merged group the kernel needs.
  struct Parts {
    /// The matmul of the scores (queries by transposed keys).
    let scores: Node
    /// The value the softmax reads: the masked scores.
    let masked: ValueID
    /// The reshape between the scores' group and the masking group, if any.
    let reshape: Node?
    /// The matmul of the softmax's weights by the values.
    let product: Node

    /// The parts of a group built by ``merged(_:in:isSmall:)``.
    init(_ group: FusedGroup, in graph: Graph) {
      let nodes = group.nodes.map { graph.nodes[$0] }
      let products = nodes.filter { $0.kind == .matmul }
      (scores, product) = (products.first!, products.last!)
      let softmax = nodes.first { $0.kind == .softmax }!
      masked = softmax.operands[0]
      reshape = nodes.first { $0.kind == .reshape && $0.operands[0] != softmax.result }
    }
  }

  /// `groups` with every attention chain merged into one group in the place of its last part.
  static func merged(_ groups: [FusedGroup], in graph: Graph, isSmall: (Node) -> Bool) -> [FusedGroup] {
    let users = Users(graph)
    var groupOfRoot: [ValueID: Int] = [:]
    for (index, group) in groups.enumerated() { groupOfRoot[group.root] = index }
    var merged: [Int: FusedGroup] = [:]
    var absorbed: Set<Int> = []
    for index in groups.indices {
      guard let chain = chain(ending: index, groups, graph, users, groupOfRoot, isSmall),
        chain.allSatisfy({ !absorbed.contains($0) })
      else { continue }
      absorbed.formUnion(chain)
      let last = chain.max()!
      merged[last] = FusedGroup(
        kind: .attention, nodes: chain.flatMap { groups[$0].nodes }.sorted(), root: groups[last].root)
    }
    return groups.indices.compactMap { index in
      merged[index] ?? (absorbed.contains(index) ? nil : groups[index])
    }
  }

  /// The indices of the groups of the chain whose softmax is group `index`'s only node.
  private static func chain(
    ending index: Int, _ groups: [FusedGroup], _ graph: Graph, _ users: Users, _ groupOfRoot: [ValueID: Int],
    _ isSmall: (Node) -> Bool
  ) -> [Int]? {
    let returned = Set(graph.results)
    func onlyReader(_ value: ValueID) -> Node? {
      let readers = users.of(value)
      return readers.count == 1 && !returned.contains(value) ? graph.nodes[readers[0]] : nil
    }
    guard groups[index].kind == .library, groups[index].nodes.count == 1 else { return nil }
    let softmax = graph.nodes[groups[index].nodes[0]]
    let maskedType = graph.type(of: softmax.operands[0])
    guard softmax.kind == .softmax, maskedType.dtype == .f32, let keys = maskedType.shape.dims.last,
      keys <= maximumKeys,
      maskedType.shape.normalizedAxis(softmax.attributes.int("axis") ?? -1) == maskedType.shape.rank - 1,
      onlyReader(softmax.operands[0]) != nil, let masking = groupOfRoot[softmax.operands[0]]
    else { return nil }
    // The scores: the masking group itself, or the one group it reads them from.
    var parts = [masking]
    if groups[masking].kind == .elementwise {
      guard let scoring = scoresGroup(of: groups[masking], maskedType.shape, groups, graph, users, groupOfRoot) else {
        return nil
      }
      parts = scoring + parts
    }
    let scoresGroup = groups[parts[0]]
    guard scoresGroup.kind == .matmul,
      let scores = scoresGroup.nodes.map({ graph.nodes[$0] }).first(where: { $0.kind == .matmul }), isSmall(scores),
      graph.type(of: scoresGroup.root).shape.count == maskedType.shape.count
    else { return nil }
    // The weights times the values.
    guard var reader = onlyReader(softmax.result) else { return nil }
    if reader.kind == .reshape {
      guard graph.type(of: reader.result).shape.dims.last == keys, let alias = groupOfRoot[reader.result],
        let next = onlyReader(reader.result)
      else { return nil }
      parts.append(alias)
      reader = next
    }
    let readerIndex = users.producer(of: reader.result)!
    guard reader.kind == .matmul, reader.operands[0] != reader.operands[1], isSmall(reader),
      graph.type(of: reader.operands[0]).shape.rank >= 2, graph.type(of: reader.operands[1]).shape.rank >= 2,
      let product = groups.indices.first(where: { groups[$0].kind == .matmul && groups[$0].nodes.contains(readerIndex) }
      )
    else { return nil }
    return parts + [index, product]
  }

  /// The groups that compute the scores an elementwise masking group reads: the matmul group
  /// (and the reshape between), when the masking group reads exactly one value a matmul group
  /// computes, nothing else reads it, and every node of the group that depends on it has the
  /// masked shape (so it reads the scores at the coordinates of the masked element; a mask
  /// computed in the group may have another).
  private static func scoresGroup(
    of masking: FusedGroup, _ shape: Shape, _ groups: [FusedGroup], _ graph: Graph, _ users: Users,
    _ groupOfRoot: [ValueID: Int]
  ) -> [Int]? {
    let members = Set(masking.nodes)
    let outside = Set(masking.nodes.flatMap { graph.nodes[$0].operands }).subtracting(
      masking.nodes.map { graph.nodes[$0].result })
    var found: [(groups: [Int], value: ValueID)] = []
    for value in outside {
      guard let group = groupOfRoot[value] else { continue }
      let readOnlyHere = users.of(value).allSatisfy(members.contains)
      if groups[group].kind == .matmul {
        guard graph.type(of: value).shape == shape, readOnlyHere else { return nil }
        found.append(([group], value))
      } else if groups[group].kind == .alias, let producer = users.producer(of: value) {
        let source = graph.nodes[producer].operands[0]
        guard let scoring = groupOfRoot[source], groups[scoring].kind == .matmul else { continue }
        guard graph.type(of: value).shape == shape, readOnlyHere, users.of(source).count == 1,
          graph.type(of: source).shape.dims.last == shape.dims.last
        else { return nil }
        found.append(([scoring, group], value))
      }
    }
    guard found.count == 1 else { return nil }
    var dependent: Set<ValueID> = [found[0].value]
    for index in masking.nodes where graph.nodes[index].operands.contains(where: dependent.contains) {
      guard graph.type(of: graph.nodes[index].result).shape == shape else { return nil }
      dependent.insert(graph.nodes[index].result)
    }
    return found[0].groups
  }
}
