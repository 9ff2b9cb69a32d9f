import Foundation
import Tessera
import TesseraTestSupport
import Testing

/// `TESSERA_FAULT` and `--fallback` end to end: the error names the device and the kernel or
/// buffer, the exit code is 2 without a fallback, and with one the results are the reference's.
@Suite(
  "Fault injection on the command line",
  .enabled(if: TestSupport.tesseraBinary != nil, "the tessera executable is not built next to the tests"))
struct FaultCLITests {
  private static let usable = Set(DeviceRegistry.standard().availableDevices.map(\.info.kind))

  /// Writes the fault-testing graph and its inputs; returns the folder and the `run` arguments.
  private func prepare() throws -> (directory: String, arguments: [String]) {
    let directory = TestSupport.temporaryDirectory("fault-cli")
    try FaultTesting.text.write(toFile: directory + "/faulty.tir", atomically: true, encoding: .utf8)
    var arguments = ["run", directory + "/faulty.tir", "-o", directory + "/out"]
    for (argument, input) in zip(FaultTesting.graph.arguments, FaultTesting.inputs) {
      let name = FaultTesting.graph[argument].name
      try NPY.write(input, path: "\(directory)/\(name).npy")
      arguments += ["--input", "\(name)=\(directory)/\(name).npy"]
    }
    return (directory, arguments)
  }

  private func tessera(_ arguments: [String], fault: String) throws -> TestSupport.ProcessResult {
    let scratch = TestSupport.temporaryDirectory("fault-cli-cache")
    return try TestSupport.runProcess(
      TestSupport.tesseraBinary!, arguments,
      environment: ["TESSERA_FAULT": fault, "TESSERA_CACHE": scratch, "POCL_CACHE_DIR": scratch + "/pocl"])
  }

  /// Whether the result files in `directory` are the reference evaluator's results.
  private func resultsMatchReference(_ directory: String) throws -> Bool {
    let results = try (0..<2).map { try NPY.read(path: "\(directory)/out/result\($0).npy") }
    return try FaultTesting.matchReference(results)
  }

  @Test func malformedOrUnfitFaultListsExitWith2() throws {
    let (_, arguments) = try prepare()
    let unknown = try tessera(arguments, fault: "explode:cpu")
    #expect(unknown.status == 2)
    #expect(unknown.stderr.contains("error: TESSERA_FAULT entry 'explode:cpu': unknown fault kind 'explode'"))
    let unfit = try tessera(arguments + ["--device", "cpu"], fault: "build:cpu")
    #expect(unfit.status == 2 && unfit.stderr.contains("cpu injects no build faults (it injects alloc)"))
  }

  @Test func withoutAFallbackTheFailureIsReported() throws {
    let (_, arguments) = try prepare()
    let result = try tessera(arguments + ["--device", "cpu"], fault: "alloc:cpu:buffer=arena")
    #expect(result.status == 2)
    #expect(result.stderr.contains("note: TESSERA_FAULT=alloc:cpu:buffer=arena: injecting faults"))
    #expect(result.stderr.contains("error: cpu could not allocate the arena ("))
  }

  @Test func cpuFallsBackToTheReference() throws {
    let (directory, arguments) = try prepare()
    let result = try tessera(
      arguments + ["--device", "cpu", "--fallback", "reference"], fault: "alloc:cpu:buffer=arena")
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("warning: cpu could not run @faulty: cpu could not allocate the arena ("))
    #expect(result.stderr.contains("; running it on reference instead"))
    #expect(result.stdout.contains("ran @faulty on reference (fallback for cpu)"))
    #expect(try resultsMatchReference(directory))
  }

  @Test(
    "OpenCL falls back to cpu", .enabled(if: usable.contains(.opencl), "no usable OpenCL device"),
    arguments: FaultKind.allCases)
  func openCL(kind: FaultKind) throws {
    try fallsBackToCPU(kind, "opencl")
  }

  @Test(
    "Vulkan falls back to cpu", .enabled(if: usable.contains(.vulkan), "no usable Vulkan device"),
    arguments: FaultKind.allCases)
  func vulkan(kind: FaultKind) throws {
    try fallsBackToCPU(kind, "vulkan")
  }

  private func fallsBackToCPU(_ kind: FaultKind, _ device: String) throws {
    let (directory, arguments) = try prepare()
    let fault = "\(kind.rawValue):\(device)"
    let failed = try tessera(arguments + ["--device", device], fault: fault)
    #expect(failed.status == 2)
    let what =
      switch kind {
      case .alloc: "could not allocate the arena"
      case .build: "could not compile the graph"
      case .timeout: "did not complete: injected fault \(fault) hit k"
      }
    #expect(failed.stderr.contains("error: \(device):0") && failed.stderr.contains(what), "\(failed.stderr)")
    let result = try tessera(arguments + ["--device", device, "--fallback", "cpu"], fault: fault)
    #expect(result.status == 0, "\(result.stderr)")
    let stage = kind == .timeout ? "run" : "compile"
    #expect(result.stderr.contains("warning: \(device):0 could not \(stage) @faulty: ") && result.stderr.contains(what))
    #expect(result.stdout.contains("ran @faulty on cpu (fallback for \(device):0)"))
    #expect(try resultsMatchReference(directory))
  }

  @Test func anUnusableDeviceGivesWayToTheFallback() throws {
    let (directory, arguments) = try prepare()
    // An ICD loader pointed at an empty folder finds no OpenCL platform: `opencl` is unusable.
    let environment = ["OCL_ICD_VENDORS": TestSupport.temporaryDirectory("no-icd")]
    let binary = TestSupport.tesseraBinary!
    let failed = try TestSupport.runProcess(binary, arguments + ["--device", "opencl"], environment: environment)
    #expect(failed.status == 2 && failed.stderr.contains("error: device 'opencl' is unavailable: "))
    let result = try TestSupport.runProcess(
      binary, arguments + ["--device", "opencl", "--fallback", "cpu"], environment: environment)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(
      result.stderr.contains("warning: device 'opencl' is unavailable: ")
        && result.stderr.contains("; running on cpu instead"))
    #expect(try resultsMatchReference(directory))
  }

  @Test func generateFallsBackAndGivesTheReferenceTokens() throws {
    let model = try TinyLlama().write()
    let arguments = ["generate", "--model", model, "--prompt", "abc", "--max-tokens", "3", "--format", "json"]
    let reference = try tessera(arguments + ["--device", "reference"], fault: "")
    #expect(reference.status == 0, "\(reference.stderr)")
    let failed = try tessera(arguments + ["--device", "cpu"], fault: "alloc:cpu:buffer=arena")
    #expect(failed.status == 2 && failed.stderr.contains("error: cpu could not allocate the arena"))
    let result = try tessera(
      arguments + ["--device", "cpu", "--fallback", "reference"], fault: "alloc:cpu:buffer=arena")
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("warning: cpu could not run @"))
    func object(_ text: String) throws -> [String: Any] {
      try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }
    let expected = try object(reference.stdout), actual = try object(result.stdout)
    #expect(actual["device"] as? String == "reference (fallback for cpu)")
    #expect(actual["generated_tokens"] as? [Int] == expected["generated_tokens"] as? [Int])
    #expect((actual["generated_tokens"] as? [Int])?.isEmpty == false)
  }
}
