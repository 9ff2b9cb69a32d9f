import Foundation
import Tessera
import TesseraTestSupport
import Testing

/// `tessera` with the OpenCL target: listing, running with a profile, emitting `.cl` files.
@Suite(
  "tessera command line with OpenCL",
  .enabled(if: TestSupport.tesseraBinary != nil, "the tessera executable is not built next to the tests"))
struct OpenCLCLITests {
  private let example = TestSupport.repositoryRoot + "/examples/mlp.tir"
  private static let openCLUsable = DeviceRegistry.standard().entries.contains {
    $0.info.kind == .opencl && $0.info.availability.isAvailable
  }

  private func tessera(_ arguments: String...) throws -> TestSupport.ProcessResult {
    try TestSupport.runProcess(TestSupport.tesseraBinary!, arguments)
  }

  @Test func emitOpenCLWritesOneBuildableFilePerKernel() throws {
    let directory = TestSupport.temporaryDirectory("emit-opencl")
    let result = try tessera("compile", example, "--target", "opencl", "--emit", "opencl", "-o", directory)
    #expect(result.status == 0)
    let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    #expect(files.contains("k1_matmul.cl"))
    let text = try String(contentsOfFile: directory + "/k1_matmul.cl", encoding: .utf8)
    #expect(text.contains("// k1_matmul: "))
    #expect(text.contains("__kernel"))
  }

  @Test(.enabled(if: openCLUsable, "no usable OpenCL device"))
  func runOnOpenCLWithAProfile() throws {
    let directory = TestSupport.temporaryDirectory("run-opencl")
    let result = try tessera(
      "run", example, "--device", "opencl", "--random-inputs", "0", "--profile", "-o", directory)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("profile on opencl:0: 4 kernel launches"), "matmul+silu, matmul, softmax, argmax")
    #expect(result.stdout.contains("k1_matmul"))
    let all = try tessera("run", example, "--device", "all", "--random-inputs", "0")
    #expect(all.stdout.contains("opencl:0"))
  }
}
