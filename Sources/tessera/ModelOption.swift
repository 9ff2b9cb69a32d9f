import Foundation
import Tessera

/// `--model GGUF` for the LLM commands: the given file, or the cached SmolLM2, fetched with
/// `scripts/fetch-model.sh` when it is missing.
enum ModelOption {
  static let spec = OptionSpec(
    name: "--model", valueName: "GGUF",
    help: "A Llama GGUF file (default: the cached SmolLM2-135M-Instruct, fetched when missing).")

  /// Loads the model the options name, saying on standard error what is happening.
  static func load(_ arguments: ParsedArguments) throws -> LlamaModel {
    let path = try arguments.value("--model") ?? defaultModel()
    printError("loading \(path)")
    return try TraceRecorder.span("load model \(path)") { try LlamaModel(path: path) }
  }

  private static func defaultModel() throws -> String {
    if let path = ModelCache.defaultModelIfPresent { return path }
    let script = "scripts/fetch-model.sh"
    guard FileManager.default.fileExists(atPath: script) else {
      throw UsageError(
        description:
          "no model at \(ModelCache.defaultModelPath); run 'make model' in the Tessera folder or pass --model")
    }
    printError("\(ModelCache.defaultModelPath) is missing: running \(script)")
    let result = try ChildProcess.run("/bin/bash", [script])
    guard result == 0, let path = ModelCache.defaultModelIfPresent else {
      throw UsageError(description: "\(script) failed (exit \(result)); pass --model GGUF")
    }
    return path
  }
}

/// Runs a helper program with the terminal's output streams.
enum ChildProcess {
  /// Runs `executable` and returns its exit status.
  static func run(_ executable: String, _ arguments: [String]) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus
  }
}
