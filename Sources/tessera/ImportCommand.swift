import Foundation
import Tessera

/// `tessera import`: an ONNX model to `.tir` text.
enum ImportCommand: Command {
  static let spec = CommandSpec(
    name: "import", summary: "Import an ONNX model into a .tir graph (--list-ops: the ONNX ops it claims).",
    positionals: [("MODEL.onnx", "The ONNX model (tensors stored beside it are read too).")],
    options: [
      OptionSpec(
        name: "--output", valueName: "FILE.tir", help: "Write the graph here (default: print it).", short: "-o"),
      inputShapeOption,
      OptionSpec(name: "--list-ops", help: "Print the ONNX ops the importer claims, with its opsets, and stop."),
    ],
    examples: [
      "tessera import model.onnx -o model.tir",
      "tessera import model.onnx -o model.tir --input-shape input=1,3,224,224",
      "tessera run model.onnx --device all --random-inputs 0",
      "tessera import --list-ops",
    ],
    standaloneFlags: ["--list-ops"])

  static func run(_ arguments: ParsedArguments) throws {
    if arguments.flags.contains("--list-ops") {
      let opsets = ONNXImporter.supportedOpsets
      print("ai.onnx opsets \(opsets.lowerBound)–\(opsets.upperBound); \(ONNXImporter.supportedOps.count) ops:")
      print(ONNXImporter.supportedOps.joined(separator: "\n"))
      return
    }
    guard let path = arguments.positionals.first else {
      throw UsageError(description: "missing argument: tessera import MODEL.onnx")
    }
    guard path.hasSuffix(".onnx") else { throw UsageError(description: "\(path): expected an .onnx file") }
    let graph = try selectFunction(try loadModule(path, arguments), nil)
    let text = Printer.print(graph)
    guard let output = arguments.value("--output") else {
      print(text, terminator: "")
      return
    }
    try text.write(toFile: output, atomically: true, encoding: .utf8)
    printError(
      "imported \(path): \(graph.arguments.count) arguments, \(graph.nodes.count) ops, \(graph.results.count) results; wrote \(output)"
    )
  }
}
