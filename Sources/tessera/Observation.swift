import Foundation
import Tessera

/// `--deterministic` and `--trace FILE.json`, shared by `run`, `generate` and `parity` and applied
/// around the whole command by ``around(_:_:)``.
enum Observation {
  /// `--deterministic`.
  static let deterministicOption = OptionSpec(
    name: "--deterministic",
    help:
      "Bit-identical results from run to run and across TESSERA_THREADS on each device (sets TESSERA_DETERMINISTIC=1; docs/determinism.md)."
  )
  /// `--trace FILE.json`.
  static let traceOption = OptionSpec(
    name: "--trace", valueName: "FILE.json",
    help:
      "Write a Chrome/Perfetto trace: host spans (parse, compiler passes, upload, encode, submit, wait, read back) and each kernel's device time."
  )

  /// Runs `body` in deterministic mode when asked (or fails at once on a `TESSERA_DETERMINISTIC`
  /// it cannot read), and with a trace recorder whose trace is written to the `--trace` file
  /// afterwards, also when `body` fails.
  static func around(_ arguments: ParsedArguments, _ body: () throws -> Void) throws {
    if arguments.flags.contains(deterministicOption.name) {
      setenv(Determinism.environmentVariable, "1", 1)
    } else if let problem = Determinism.problem() {
      throw UsageError(description: problem)
    }
    guard let path = arguments.value(traceOption.name) else { return try body() }
    try checkWritable(path)
    let recorder = TraceRecorder()
    defer {
      do {
        try recorder.chromeTrace().write(toFile: path, atomically: true, encoding: .utf8)
        printError("wrote trace \(path) (\(recorder.spans.count) spans; open in ui.perfetto.dev or chrome://tracing)")
      } catch {
        printError("error: --trace \(path): \(error.localizedDescription)")
      }
    }
    try recorder.recording(body)
  }

  /// Fails before any work when the trace could not be written: no such folder, or a folder.
  private static func checkWritable(_ path: String) throws {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
      throw UsageError(description: "--trace \(path): is a folder; expected FILE.json")
    }
    let folder = (path as NSString).deletingLastPathComponent
    guard folder.isEmpty || FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory),
      folder.isEmpty || isDirectory.boolValue
    else {
      throw UsageError(description: "--trace \(path): no such folder '\(folder)'")
    }
  }
}
