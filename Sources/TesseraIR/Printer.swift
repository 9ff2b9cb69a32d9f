/// Writes graphs in the canonical `.tir` text form; ``Parser`` reads it back to an equal graph.
public enum Printer {
  /// The text of one function.
  public static func print(_ graph: Graph) -> String {
    let arguments = graph.arguments.map { "%\(graph[$0].name): \(graph.type(of: $0))" }
    let resultTypes = graph.resultTypes.map(\.description)
    let returns = resultTypes.count == 1 ? resultTypes[0] : "(" + resultTypes.joined(separator: ", ") + ")"
    var lines = ["func @\(graph.name)(\(arguments.joined(separator: ", "))) -> \(returns) {"]
    for node in graph.nodes {
      lines.append("  " + statement(node, in: graph))
    }
    lines.append("  return " + graph.results.map { "%" + graph[$0].name }.joined(separator: ", "))
    lines.append("}")
    return lines.joined(separator: "\n") + "\n"
  }

  /// The text of one node: `%y = silu %x : f32[4]`.
  public static func statement(_ node: Node, in graph: Graph) -> String {
    var text = "%\(graph[node.result].name) = \(node.kind)"
    if let literal = node.literal {
      text += " " + literalText(literal)
    } else if !node.operands.isEmpty {
      text += " " + node.operands.map { "%" + graph[$0].name }.joined(separator: ", ")
    }
    if !node.attributes.isEmpty {
      text += " {" + node.attributes.map { "\($0) = \($1)" }.joined(separator: ", ") + "}"
    }
    return text + " : \(graph.type(of: node.result))"
  }

  /// A constant's literal: one value when all elements are equal (a splat), a flat list otherwise,
  /// and `0x…` bytes for quantized blocks.
  static func literalText(_ tensor: Tensor) -> String {
    if tensor.dtype.isQuantized {
      return "0x"
        + tensor.bytes.map { byte in
          let digits = String(byte, radix: 16)
          return digits.count == 1 ? "0" + digits : digits
        }.joined()
    }
    let values = tensor.doubles
    let words = values.map { ElementCodec.format($0, dtype: tensor.dtype) }
    if let first = words.first, words.allSatisfy({ $0 == first }), tensor.dtype != .i64 || values.count == 1 {
      return first
    }
    if tensor.dtype == .i64 { return "[" + tensor.int64s.map(String.init).joined(separator: ", ") + "]" }
    return "[" + words.joined(separator: ", ") + "]"
  }
}
