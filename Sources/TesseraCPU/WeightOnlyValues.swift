import TesseraIR
import TesseraRuntime

/// The values of a graph that depend only on device tensor arguments the graph never writes — a
/// model's weights — such as `transpose(dequantize(W))`: given the same unwritten device tensors,
/// they are the same on every run, so the reference device computes them once and keeps them
/// (``ReferenceDevice``) instead of dequantizing and transposing every weight on every token.
///
/// Only the values another op reads (or that the graph returns) are kept: the last weight-only
/// value of each chain, never its intermediates. Ops with a literal are not weight-only (they
/// are cheap, and a key naming their bytes would be long), so neither is anything computed from
/// them.
struct WeightOnlyValues {
  /// The kept values in graph order, each with the argument positions it is computed from.
  let kept: [(value: ValueID, sources: [Int])]
  private let graph: Graph
  private let argumentPositions: [ValueID: Int]
  private let definingNode: [ValueID: Int]

  /// Finds the kept values of `graph` when the arguments at `resident` are device tensors.
  init(_ graph: Graph, resident: Set<Int>) {
    self.graph = graph
    definingNode = graph.definingNode
    var positions: [ValueID: Int] = [:]
    for (position, argument) in graph.arguments.enumerated() { positions[argument] = position }
    argumentPositions = positions
    let written = Set(graph.inPlaceUpdates.values)
    var sources: [ValueID: Set<Int>] = [:]
    for (position, argument) in graph.arguments.enumerated()
    where resident.contains(position) && !written.contains(position) {
      sources[argument] = [position]
    }
    var readByOthers = Set(graph.results)
    for node in graph.nodes {
      let operandSources = node.operands.map { sources[$0] }
      if node.literal == nil, !node.operands.isEmpty, operandSources.allSatisfy({ $0 != nil }) {
        sources[node.result] = operandSources.reduce(into: Set<Int>()) { $0.formUnion($1!) }
      } else {
        readByOthers.formUnion(node.operands)
      }
    }
    kept = graph.nodes.compactMap { node in
      guard readByOthers.contains(node.result), let positions = sources[node.result] else { return nil }
      return (node.result, positions.sorted())
    }
  }

  /// The key under which the device keeps `value`
  /// (``Graph/derivedValueKey(of:tensors:argumentPositions:definingNode:)``).
  func key(of value: ValueID, tensors: [Int: DeviceTensor]) -> String {
    graph.derivedValueKey(
      of: value, tensors: tensors, argumentPositions: argumentPositions, definingNode: definingNode)
  }
}
