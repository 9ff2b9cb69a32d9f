import Foundation
import Tessera
import TesseraTestSupport
import Testing

/// Test data made by `scripts/onnx-test-data.py` with the `onnx` and `onnxruntime` Python
/// packages; tests that need it are skipped with ``skipReason`` where they are missing.
enum PythonONNX {
  /// Whether `import onnx, onnxruntime` works here.
  static let available: Bool = {
    (try? TestSupport.runProcess("/usr/bin/env", ["python3", "-c", "import onnx, onnxruntime"]))?.status == 0
  }()

  /// Why the tests that need the packages are skipped.
  static let skipReason: Comment =
    "the onnx and onnxruntime Python packages are not installed (python3 -m pip install --user onnx onnxruntime)"

  /// Runs the script with `arguments` and returns its output folder.
  static func generate(_ arguments: [String], label: String) throws -> String {
    let directory = TestSupport.temporaryDirectory(label)
    let script = TestSupport.repositoryRoot + "/scripts/onnx-test-data.py"
    let result = try TestSupport.runProcess(
      "/usr/bin/env", ["python3", script, arguments[0], directory] + arguments.dropFirst())
    guard result.status == 0 else { throw ScriptFailure(message: result.stderr) }
    return directory
  }

  /// The sub-folders of `directory`, sorted.
  static func folders(_ directory: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted().map { directory + "/" + $0 }
  }

  /// The usable devices a model is compared on: `reference` and `cpu`.
  static func devices() throws -> [any Device] {
    let registry = DeviceRegistry.standard()
    return try ["reference", "cpu"].map { try registry.device(named: $0) }
  }
}

/// `scripts/onnx-test-data.py` failed; its standard error says why.
struct ScriptFailure: Error, CustomStringConvertible {
  var message: String
  var description: String { "onnx-test-data.py failed: \(message)" }
}
