import Foundation
import Tessera

/// Reads and parses a `.tir` file; errors carry `file:line:col`.
func loadModule(_ path: String) throws -> Module {
  guard let data = FileManager.default.contents(atPath: path) else {
    throw UsageError(
      description: "\(path): " + (FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file"))
  }
  guard let text = String(data: data, encoding: .utf8) else { throw UsageError(description: "\(path): not UTF-8 text") }
  return try TraceRecorder.span("parse \(path)") { () throws(IRError) in try Parser.parse(text, file: path) }
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
