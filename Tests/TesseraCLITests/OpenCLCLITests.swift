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

  /// `--device` compiles with the device's own capabilities: on a CPU driver (PoCL) an RMS norm
  /// and the quantized product reading it stay two kernels, where the `opencl` target's defaults
  /// (a GPU's) compute the norm in the product.
  @Test(.enabled(if: openCLUsable, "no usable OpenCL device"))
  func compileForTheDeviceItself() throws {
    let file = TestSupport.temporaryDirectory("compile-device") + "/normed.tir"
    try TestSupport.normedQuantizedProduct.write(toFile: file, atomically: true, encoding: .utf8)
    let target = try tessera("compile", file, "--target", "opencl")
    #expect(target.status == 0, "\(target.stderr)")
    #expect(target.stdout.contains("1 kernels"), "\(target.stdout)")
    let device = try tessera("compile", file, "--device", "opencl")
    #expect(device.status == 0, "\(device.stderr)")
    let isCPU = DeviceRegistry.standard().entries.contains {
      $0.info.kind == .opencl && $0.info.summary.contains("CPU")
    }
    #expect(device.stdout.contains(isCPU ? "2 kernels" : "1 kernels"), "\(device.stdout)")
  }

  @Test func compileRefusesADeviceThatCompilesLikeItsKind() throws {
    let cpu = try tessera("compile", example, "--device", "cpu")
    #expect(cpu.status != 0)
    #expect(cpu.stderr.contains("use --target cpu"), "\(cpu.stderr)")
    let both = try tessera("compile", example, "--device", "opencl", "--target", "vulkan")
    #expect(both.status != 0)
    #expect(both.stderr.contains("--target and --device"), "\(both.stderr)")
  }
}
