import Foundation
import Tessera
import TesseraTestSupport
import Testing

/// `tessera run --device vulkan --profile`: each kernel's device time from Vulkan timestamps.
@Suite(
  "tessera command line with Vulkan",
  .enabled(if: TestSupport.tesseraBinary != nil, "the tessera executable is not built next to the tests"))
struct VulkanCLITests {
  private static let vulkanUsable = DeviceRegistry.standard().entries.contains {
    $0.info.kind == .vulkan && $0.info.availability.isAvailable
  }

  @Test(.enabled(if: vulkanUsable, "no usable Vulkan device"))
  func runOnVulkanWithAProfile() throws {
    let directory = TestSupport.temporaryDirectory("run-vulkan")
    let result = try TestSupport.runProcess(
      TestSupport.tesseraBinary!,
      [
        "run", TestSupport.repositoryRoot + "/examples/mlp.tir", "--device", "vulkan", "--random-inputs", "0",
        "--profile", "-o", directory,
      ])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("profile on vulkan:0: 4 kernel launches"), "matmul+silu, matmul, softmax, argmax")
    #expect(result.stdout.contains("k1_matmul"))
    #expect(result.stdout.contains(" µs"))
  }
}
