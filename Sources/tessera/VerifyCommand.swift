import Tessera

/// `tessera verify`: parse, verify and print every value's inferred type.
enum VerifyCommand: Command {
  static let spec = CommandSpec(
    name: "verify", summary: "Parse and verify a .tir file (or import an .onnx model) and print every value's type.",
    positionals: [("GRAPH.tir", "The graph file (.tir, or an .onnx model).")], options: [inputShapeOption],
    examples: ["tessera verify examples/mlp.tir"])

  static func run(_ arguments: ParsedArguments) throws {
    let module = try loadModule(arguments.positionals[0], arguments)
    for graph in module.functions {
      try Verifier.verify(graph)
      print(
        "@\(graph.name): ok, \(graph.arguments.count) arguments, \(graph.nodes.count) ops, \(graph.results.count) results"
      )
      let rows =
        graph.arguments.map { ["%" + graph[$0].name, graph.type(of: $0).description, "argument"] }
        + graph.nodes.map { ["%" + graph[$0.result].name, graph.type(of: $0.result).description, $0.kind.rawValue] }
      print(Table(header: ["  VALUE", "TYPE", "DEFINED BY"], rows: rows.map { ["  " + $0[0], $0[1], $0[2]] }).text)
      print("  returns " + graph.results.map { "%\(graph[$0].name): \(graph.type(of: $0))" }.joined(separator: ", "))
    }
  }
}

/// `tessera print`: the canonical form.
enum PrintCommand: Command {
  static let spec = CommandSpec(
    name: "print", summary: "Print a .tir file in canonical form (what the printer writes, which parses back equal).",
    positionals: [("GRAPH.tir", "The graph file.")], options: [],
    examples: ["tessera print examples/mlp.tir"])

  static func run(_ arguments: ParsedArguments) throws {
    print(try loadModule(arguments.positionals[0]).description, terminator: "")
  }
}
