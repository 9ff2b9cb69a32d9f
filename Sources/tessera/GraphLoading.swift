import Foundation
import Tessera

/// `--input-shape NAME=D0,D1,…` for commands that read `.onnx` models.
let inputShapeOption = OptionSpec(
  name: "--input-shape", valueName: "NAME=D0,D1,…",
  help: "For .onnx models: the dims of graph input NAME (fixes symbolic dims).", repeatable: true)

/// Reads a graph file: `.tir` text (errors carry `file:line:col`) or an `.onnx` model, imported
/// with the dims `--input-shape` gives.
func loadModule(_ path: String, _ arguments: ParsedArguments? = nil) throws -> Module {
  let shapes = try arguments.map(inputShapes) ?? [:]
  if path.hasSuffix(".onnx") {
    let options = ONNXImportOptions(evaluator: ReferenceConstantEvaluator(), inputShapes: shapes)
    let graph = try TraceRecorder.span("import \(path)") { () throws(ONNXError) in
      try ONNXImporter.importFile(path, options: options)
    }
    return Module(functions: [graph])
  }
  guard shapes.isEmpty else { throw UsageError(description: "--input-shape applies to .onnx models only") }
  guard let data = FileManager.default.contents(atPath: path) else {
    throw UsageError(
      description: "\(path): " + (FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file"))
  }
  guard let text = String(data: data, encoding: .utf8) else { throw UsageError(description: "\(path): not UTF-8 text") }
  return try TraceRecorder.span("parse \(path)") { () throws(IRError) in try Parser.parse(text, file: path) }
}

/// The dims of each `--input-shape NAME=D0,D1,…` (`NAME=` alone for a scalar).
func inputShapes(_ arguments: ParsedArguments) throws(UsageError) -> [String: [Int]] {
  var shapes: [String: [Int]] = [:]
  for assignment in arguments.all(inputShapeOption.name) {
    let parts = assignment.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
    let dims =
      parts.count == 2 ? parts[1].split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) } : []
    guard parts.count == 2, !parts[0].isEmpty, dims.allSatisfy({ ($0 ?? -1) >= 0 }) else {
      throw UsageError(description: "--input-shape '\(assignment)': expected NAME=D0,D1,… with dims >= 0")
    }
    guard shapes[parts[0]] == nil else { throw UsageError(description: "--input-shape \(parts[0]) is given twice") }
    shapes[parts[0]] = dims.map { $0! }
  }
  return shapes
}

/// The function to run: `--function NAME`, or the first one.
func selectFunction(_ module: Module, _ name: String?) throws -> Graph {
  guard let name else { return module.functions[0] }
  guard let graph = module.function(named: name) else {
    let known = module.functions.map { "@" + $0.name }.joined(separator: ", ")
    throw UsageError(description: "--function: no function @\(name) (the file has \(known))")
  }
  return graph
}
