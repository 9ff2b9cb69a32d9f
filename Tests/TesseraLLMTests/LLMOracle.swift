import Foundation
import Tessera
import TesseraTestSupport
import Testing

/// `scripts/llm-oracle.py`: an independent numpy forward pass of a small F32 GGUF model (its own
/// GGUF parser and graph); tests that need it are skipped with ``skipReason`` without numpy.
struct LLMOracle: Decodable {
  /// The logits after the prompt.
  var logits: [Double]
  /// Greedy tokens after the prompt, each from a full recompute.
  var tokens: [Int]
  /// Top-1 minus top-2 logit at each greedy step.
  var margins: [Double]

  /// Why the tests that need the oracle are skipped.
  static let skipReason: Comment = "python3 with numpy is not installed (scripts/install-system-deps.sh installs it)"

  /// Runs the oracle on the model at `path` for `prompt` and `steps` greedy tokens.
  static func run(_ path: String, prompt: [Int], steps: Int) throws -> LLMOracle {
    let script = TestSupport.repositoryRoot + "/scripts/llm-oracle.py"
    let result = try TestSupport.runProcess(
      "/usr/bin/env", ["python3", script, path, prompt.map(String.init).joined(separator: ","), String(steps)])
    guard result.status == 0 else { throw OracleFailure(message: result.stderr) }
    return try JSONDecoder().decode(LLMOracle.self, from: Data(result.stdout.utf8))
  }

  /// The greedy tokens up to the first step whose top two logits are within `noise` (after
  /// it, a device may pick either without being wrong).
  func reliableTokens(noise: Double = 1e-3) -> [Int] {
    Array(tokens.prefix(margins.firstIndex { $0 <= noise } ?? tokens.count))
  }
}

/// `scripts/llm-oracle.py` failed; its standard error says why.
struct OracleFailure: Error, CustomStringConvertible {
  var message: String
  var description: String { "llm-oracle.py failed: \(message)" }
}
