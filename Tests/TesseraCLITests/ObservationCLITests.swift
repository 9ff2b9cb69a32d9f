import Foundation
import Tessera
import TesseraTestSupport
import Testing

/// `--trace FILE.json` and `--deterministic` on `tessera run` (`generate` and `parity` share the
/// same code, see LLMCommandTests for the model commands).
@Suite(
  "tessera --trace and --deterministic",
  .enabled(if: TestSupport.tesseraBinary != nil, "the tessera executable is not built next to the tests"))
struct ObservationCLITests {
  private let example = TestSupport.repositoryRoot + "/examples/mlp.tir"

  private func tessera(_ arguments: [String], environment: [String: String] = [:]) throws -> TestSupport.ProcessResult {
    try TestSupport.runProcess(TestSupport.tesseraBinary!, arguments, environment: environment)
  }

  @Test func runWritesAChromeTrace() throws {
    let directory = TestSupport.temporaryDirectory("trace-cli")
    let path = directory + "/trace.json"
    let result = try tessera([
      "run", example, "--device", "cpu", "--random-inputs", "0", "-o", directory, "--trace", path,
    ])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("wrote trace \(path)"))
    let trace = ChromeTraceCheck(try String(contentsOfFile: path, encoding: .utf8))
    #expect(trace.problems.isEmpty, "\(trace.problems)")
    let host = trace.spans(process: "host", thread: "main").map(\.name)
    #expect(host.first == "parse \(example)")
    #expect(host.contains("compile @mlp for cpu") && host.contains("pass dce") && host.contains("read back"))
    #expect(!trace.spans(process: "cpu", thread: "kernels").isEmpty)
  }

  @Test func aTraceThatCannotBeWrittenFailsFirst() throws {
    let result = try tessera(["run", example, "--random-inputs", "0", "--trace", "/no/such/folder/t.json"])
    #expect(result.status == 2)
    #expect(result.stderr.contains("--trace /no/such/folder/t.json: no such folder '/no/such/folder'"))
  }

  @Test func aDeterministicValueItCannotReadIsAnError() throws {
    let result = try tessera(
      ["run", example, "--random-inputs", "0", "-o", TestSupport.temporaryDirectory("det-cli")],
      environment: [Determinism.environmentVariable: "maybe"])
    #expect(result.status == 2)
    #expect(result.stderr.contains("TESSERA_DETERMINISTIC='maybe' is not 1 or 0"))
  }

  @Test func deterministicResultsAreTheSameOnOneAndThreeThreads() throws {
    let graph = TestSupport.temporaryDirectory("det-graph") + "/skinny.tir"
    try """
    func @skinny(%x: f32[2,1024], %w: f32[1024,128]) -> f32[2,128] {
      %y = matmul %x, %w : f32[2,128]
      return %y
    }
    """.write(toFile: graph, atomically: true, encoding: .utf8)
    var files: [Data] = []
    for threads in ["1", "3"] {
      let directory = TestSupport.temporaryDirectory("det-\(threads)")
      let result = try tessera(
        ["run", graph, "--device", "cpu", "--random-inputs", "4", "--deterministic", "-o", directory],
        environment: ["TESSERA_THREADS": threads])
      #expect(result.status == 0, "\(result.stderr)")
      files.append(try Data(contentsOf: URL(fileURLWithPath: directory + "/result0.npy")))
    }
    #expect(files[0] == files[1])
  }
}
