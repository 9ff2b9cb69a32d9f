import Foundation
import Tessera
import TesseraTestSupport
import Testing

/// A device's tuning file: written and read back, absent, and every way it can be unusable,
/// each with the file and the reason named.
@Suite("Tuning files")
struct TuningFileTests {
  private let key = "Some GPU|vendor|driver 1.2.3|platform"
  private let tuning = KernelTuning(quantizedMatmul: QuantizedMatmulTuning(lanes: 16, rows: 4, subgroupSums: false))

  private func path(_ label: String) -> String {
    TuningFile.path(kind: .opencl, deviceKey: key, root: TestSupport.temporaryDirectory(label))
  }

  @Test func aSavedTuningReadsBack() throws {
    let path = path("tuning-roundtrip")
    try TuningFile.save(tuning, deviceKey: key, to: path)
    #expect(try TuningFile.load(path: path, deviceKey: key) == tuning)
    try TuningFile.save(KernelTuning(), deviceKey: key, to: path)
    #expect(try TuningFile.load(path: path, deviceKey: key) == KernelTuning(), "the default, saved, replaces it")
  }

  @Test func theFileIsNamedByKindAndKey() {
    let root = "/cache"
    let a = TuningFile.path(kind: .opencl, deviceKey: key, root: root)
    #expect(a.hasPrefix("/cache/tuning/opencl-") && a.hasSuffix(".json"))
    #expect(a != TuningFile.path(kind: .vulkan, deviceKey: key, root: root))
    #expect(a != TuningFile.path(kind: .opencl, deviceKey: key + " (new driver)", root: root))
  }

  @Test func noFileMeansNoTuning() throws {
    #expect(try TuningFile.load(path: path("tuning-absent"), deviceKey: key) == nil)
  }

  @Test(
    "an unusable file is an error naming it and what is wrong",
    arguments: [
      ("{not json", "it is not a tuning file (not valid JSON"),
      (#"{"tuning": {}}"#, "it is not a tuning file (no 'device' at the top level)"),
      (
        #"{"device": "x", "tuning": {"quantizedMatmul": {"lanes": "eight", "rows": 2, "subgroupSums": false}}}"#,
        "it is not a tuning file (a wrong value at tuning.quantizedMatmul.lanes)"
      ),
      (#"{"device": "Another GPU", "tuning": {}}"#, "it was written for 'Another GPU', not"),
    ])
  func unusableFiles(contents: String, problem: String) throws {
    let path = path("tuning-bad")
    try FileManager.default.createDirectory(
      atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
    #expect {
      _ = try TuningFile.load(path: path, deviceKey: key)
    } throws: { error in
      guard let error = error as? TuningFileError else { return false }
      return error.path == path && error.problem.hasPrefix(problem)
        && "\(error)".hasPrefix("the tuning file \(path) cannot be used: ")
    }
  }
}
