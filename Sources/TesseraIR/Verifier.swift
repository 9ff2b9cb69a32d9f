/// Checks that a graph is well formed: every operand is defined before use, names are unique,
/// every node's recorded type is what ``TypeInference`` derives, and results exist.
public enum Verifier {
  /// Throws the first problem found, naming the function, op and value.
  public static func verify(_ graph: Graph) throws(IRError) {
    var defined = Set<ValueID>()
    var names = Set<String>()
    func define(_ id: ValueID) throws(IRError) {
      guard graph.values.indices.contains(id.index) else {
        throw .invalidGraph(function: graph.name, message: "value \(id) does not exist")
      }
      guard defined.insert(id).inserted else {
        throw .invalidGraph(function: graph.name, message: "%\(graph[id].name) is defined twice")
      }
      guard names.insert(graph[id].name).inserted else {
        throw .invalidGraph(function: graph.name, message: "the name %\(graph[id].name) is used for two values")
      }
    }
    for argument in graph.arguments { try define(argument) }
    for node in graph.nodes {
      for operand in node.operands where !defined.contains(operand) {
        let name = graph.values.indices.contains(operand.index) ? "%" + graph[operand].name : "\(operand)"
        throw .invalidGraph(function: graph.name, message: "\(node.kind) uses \(name) before it is defined")
      }
      try define(node.result)
      let inferred: TensorType
      do {
        inferred = try TypeInference.resultType(
          of: node.kind, operands: node.operands.map(graph.type(of:)), attributes: node.attributes,
          literal: node.literal)
      } catch {
        throw .invalidOp(function: graph.name, op: node.kind, value: graph[node.result].name, message: error.message)
      }
      guard inferred == graph.type(of: node.result) else {
        throw .invalidOp(
          function: graph.name, op: node.kind, value: graph[node.result].name,
          message: "recorded type \(graph.type(of: node.result)) differs from inferred \(inferred)")
      }
    }
    guard !graph.results.isEmpty else {
      throw .invalidGraph(function: graph.name, message: "the function returns nothing")
    }
    for result in graph.results where !defined.contains(result) {
      throw .invalidGraph(function: graph.name, message: "returned value \(result) is not defined")
    }
  }
}
