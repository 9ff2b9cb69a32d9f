import TesseraIR

/// Splits a large matmul's group from its elementwise epilogue on targets whose kernel library
/// multiplies blocks (``TargetCapabilities/splitsLargeProducts``): the bare matmul then runs on
/// the library's register-blocked kernel and the epilogue as an elementwise kernel after it,
/// where the group whole would get the generated per-element matmul, one dot product per
/// work-item. A prefill's attention scores (`q · kᵀ · scale`, 3 × 510 × 170 × 64) took 53.7 ms
/// that way on lavapipe against 3.7 ms for the bare matmul on the library kernel (PoCL: 3.0
/// against 0.22 ms).
enum ProductEpilogueSplit {
  /// Multiply-adds from which a product is split (a decode step's attention, a few thousand, keeps
  /// its epilogue and saves a dispatch).
  static let minimumMultiplyAdds = 1 << 20

  /// `groups` with each such matmul group split in two, in place; `runsBare(core)` says whether
  /// the target's library runs the bare matmul `core`, and `readsWeightInPlace(core)` whether
  /// the quantized matmul kernel (which applies its epilogue itself) takes it.
  static func split(
    _ groups: [FusedGroup], in graph: Graph, runsBare: (Node) -> Bool, readsWeightInPlace: (Node) -> Bool
  ) -> [FusedGroup] {
    groups.flatMap { group -> [FusedGroup] in
      guard group.kind == .matmul, group.nodes.count > 1,
        let coreIndex = group.nodes.first(where: { graph.nodes[$0].kind == .matmul })
      else { return [group] }
      let core = graph.nodes[coreIndex]
      let members = Set(group.nodes.map { graph.nodes[$0].result })
      guard !core.operands.contains(where: members.contains), multiplyAdds(core, graph) >= minimumMultiplyAdds,
        !readsWeightInPlace(core), runsBare(core)
      else { return [group] }
      let bare = FusedGroup(kind: .matmul, nodes: [coreIndex], root: core.result)
      let epilogue = FusedGroup(kind: .elementwise, nodes: group.nodes.filter { $0 != coreIndex }, root: group.root)
      return [bare, epilogue]
    }
  }

  /// The multiply-adds of `matmul`: its result's elements times the contraction's length.
  static func multiplyAdds(_ matmul: Node, _ graph: Graph) -> Int {
    graph.type(of: matmul.result).shape.count * (graph.type(of: matmul.operands[0]).shape.dims.last ?? 1)
  }
}
