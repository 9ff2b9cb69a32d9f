import TesseraIR

/// The last step of an import: drops the nodes no result depends on (constants of folded shape
/// arithmetic, unused initializers) and gives values their ONNX names, made valid `.tir` names
/// (characters other than letters, digits, `_` and `.` become `_`) and unique.
enum GraphTidying {
  /// `graph` without dead nodes, its values named after `names` (the first name a value gets
  /// wins) through `values`, the others keeping their internal names unless taken.
  static func tidy(_ graph: Graph, names: [String], values: [String: ValueID]) -> Graph {
    var result = graph
    var live = Set(graph.results)
    var kept: [Node] = []
    for node in graph.nodes.reversed() where live.contains(node.result) {
      live.formUnion(node.operands)
      kept.append(node)
    }
    result.nodes = kept.reversed()
    var used = Set<String>()
    var named = Set<ValueID>()
    for name in names {
      guard let value = values[name], !named.contains(value) else { continue }
      named.insert(value)
      result.values[value.index].name = unique(sanitized(name), &used)
    }
    for index in result.values.indices where !named.contains(ValueID(index)) {
      result.values[index].name = unique(result.values[index].name, &used)
    }
    return result
  }

  /// `name` with every character `.tir` names cannot hold replaced by `_`.
  static func sanitized(_ name: String) -> String {
    let scalars = name.unicodeScalars.map { scalar -> Unicode.Scalar in
      scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "_" || scalar == "." ? scalar : "_"
    }
    return scalars.isEmpty ? "v" : String(String.UnicodeScalarView(scalars))
  }

  private static func unique(_ name: String, _ used: inout Set<String>) -> String {
    var candidate = name
    var suffix = 1
    while !used.insert(candidate).inserted {
      suffix += 1
      candidate = "\(name)_\(suffix)"
    }
    return candidate
  }
}
