import Foundation
import Tessera

/// Helpers shared by every test target: temporary folders, numpy as an independent oracle,
/// comparisons with tolerances, and the `tessera` binary for end-to-end tests.
public enum TestSupport {
  /// A fresh empty folder inside this test process's ``scratchRoot``, removed with it when the
  /// process exits.
  public static func temporaryDirectory(_ label: String = "tessera-test") -> String {
    let path = scratchRoot + "/\(label)-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  /// `tessera-tests-<pid>` under the system temporary directory: every folder of
  /// ``temporaryDirectory(_:)`` lives here. Made on first use, after removing the roots of test
  /// processes that are gone (a crashed run's); removed when this process exits normally.
  public static let scratchRoot: String = {
    let parent = NSTemporaryDirectory()
    removeStaleScratchRoots(in: parent)
    let root = parent + "/" + scratchPrefix + String(getpid())
    try! FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(atPath: TestSupport.scratchRoot) }
    return root
  }()

  private static let scratchPrefix = "tessera-tests-"

  /// Removes `tessera-tests-<pid>` folders whose process no longer exists.
  private static func removeStaleScratchRoots(in parent: String) {
    for name in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [] where name.hasPrefix(scratchPrefix)
    {
      guard let pid = Int32(name.dropFirst(scratchPrefix.count)), kill(pid, 0) != 0, errno == ESRCH else { continue }
      try? FileManager.default.removeItem(atPath: parent + "/" + name)
    }
  }

  /// Whether `python3` runs here; tests that have it write files with its standard library skip
  /// when not.
  public static let pythonAvailable: Bool = {
    (try? runProcess("/usr/bin/env", ["python3", "-c", "pass"]))?.status == 0
  }()

  /// Whether `python3 -c "import numpy"` works here; tests that need numpy skip when not.
  public static let numpyAvailable: Bool = {
    (try? runProcess("/usr/bin/env", ["python3", "-c", "import numpy"]))?.status == 0
  }()

  /// Output of a finished process.
  public struct ProcessResult: Sendable {
    /// Exit status.
    public var status: Int32
    /// Standard output as text.
    public var stdout: String
    /// Standard error as text.
    public var stderr: String
  }

  /// Runs a program to completion and captures its output; `environment` adds to (or replaces
  /// variables of) this process's environment.
  public static func runProcess(
    _ executable: String, _ arguments: [String], directory: String? = nil, environment: [String: String] = [:]
  ) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    if !environment.isEmpty {
      process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ProcessResult(
      status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
      stderr: String(decoding: errData, as: UTF8.self))
  }

  /// Runs a numpy script in `directory`: the script reads `in0.npy`, `in1.npy`… (given as
  /// `inputs`) and must `np.save('out.npy', …)`; returns that array. `nil` without numpy.
  public static func numpy(_ script: String, inputs: [Tensor]) throws -> Tensor? {
    guard numpyAvailable else { return nil }
    let directory = temporaryDirectory("numpy")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    for (index, input) in inputs.enumerated() { try NPY.write(input, path: "\(directory)/in\(index).npy") }
    let prelude = "import numpy as np, math\nins = [np.load(f'in{i}.npy') for i in range(\(inputs.count))]\n"
    let save =
      "\nout = np.asarray(out)\nout = np.ascontiguousarray(out) if out.ndim else out\nnp.save('out.npy', out.astype(np.float32) if out.dtype == np.float64 else out)\n"
    let result = try runProcess("/usr/bin/env", ["python3", "-c", prelude + script + save], directory: directory)
    guard result.status == 0 else { throw NumpyFailure(message: result.stderr) }
    return try NPY.read(path: "\(directory)/out.npy")
  }

  /// The largest elementwise difference scaled for tolerance checks: `|a - b| / (atol + rtol*|b|)`;
  /// a value at or below 1 means within tolerance. NaNs match NaNs; shapes must agree.
  public static func toleranceRatio(_ actual: Tensor, _ expected: Tensor, atol: Double, rtol: Double) -> Double {
    guard actual.shape.count == expected.shape.count else { return .infinity }
    var worst = 0.0
    for (a, b) in zip(actual.doubles, expected.doubles) {
      if a.isNaN && b.isNaN { continue }
      if a == b { continue }  // equal infinities
      let ratio = Swift.abs(a - b) / (atol + rtol * Swift.abs(b))
      worst = Swift.max(worst, ratio.isNaN ? .infinity : ratio)
    }
    return worst
  }

  /// The `tessera` executable built next to the test bundle, or `nil` when it is not built.
  public static let tesseraBinary: String? = {
    let candidates = [
      URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("tessera").path,
      Bundle.main.bundleURL.appendingPathComponent("tessera").path,
      Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("tessera").path,
    ]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
  }()

  /// The repository root (for example files), found from this source file's location.
  public static let repositoryRoot: String = {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .path
  }()

  /// Runs the graph on the reference device with inputs in argument order.
  public static func evaluate(_ graph: Graph, _ inputs: [Tensor]) throws -> [Tensor] {
    try ReferenceDevice().compile(graph).run(inputs: inputs)
  }

  /// Parses a one-function `.tir` text.
  public static func parseOne(_ text: String) throws -> Graph {
    try Parser.parse(text, file: "test.tir").functions[0]
  }

  /// `@name(%x: f32[2,64], %w: q4_1[48,64])`: `x · transpose(dequantize(w))`, then `epilogue`
  /// (a unary op) when given — a matmul whose weight-only operand devices may keep between runs.
  public static func weightMatmulGraph(_ name: String, epilogue: String = "") throws -> Graph {
    try parseOne(
      """
      func @\(name)(%x: f32[2,64], %w: q4_1[48,64]) -> f32[2,48] {
        %d = dequantize %w : f32[48,64]
        %t = transpose %d {perm = [1, 0]} : f32[64,48]
        %y = matmul %x, %t : f32[2,48]
        \(epilogue.isEmpty ? "return %y" : "%z = \(epilogue) %y : f32[2,48]\n  return %z")
      }
      """)
  }
}

/// A numpy script failed; its standard error says why.
public struct NumpyFailure: Error, CustomStringConvertible {
  /// Python's error output.
  public var message: String
  /// Python's error output.
  public var description: String { message }
}
