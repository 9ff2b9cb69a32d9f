import Foundation
import Tessera
import TesseraTestSupport
import Testing

/// `tessera tune`: a search on Vulkan that writes the device's tuning file, which the device
/// then reads when opened; and the command's errors.
@Suite(
  "tessera tune",
  .enabled(if: TestSupport.tesseraBinary != nil, "the tessera executable is not built next to the tests"))
struct TuneCLITests {
  private static let vulkan = DeviceRegistry.standard().availableDevices.lazy.compactMap { $0 as? VulkanDevice }.first

  private func tessera(_ arguments: [String], cache: String) throws -> TestSupport.ProcessResult {
    try TestSupport.runProcess(TestSupport.tesseraBinary!, arguments, environment: ["TESSERA_CACHE": cache])
  }

  @Test(.enabled(if: vulkan != nil, "no usable Vulkan device"))
  func tuningWritesTheFileTheDeviceReads() throws {
    let device = try #require(Self.vulkan)
    let cache = TestSupport.temporaryDirectory("tune-cli")
    let result = try tessera(
      ["tune", "--device", device.info.name, "--matrices", "q4_1[40,64]", "--repeat", "1"], cache: cache)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("default: ") && result.stdout.contains("chosen: "))
    let path = TuningFile.path(kind: .vulkan, deviceKey: device.tuningKey, root: cache)
    #expect(result.stdout.contains("wrote \(path)"))
    let stored = try #require(try TuningFile.load(path: path, deviceKey: device.tuningKey))
    if let shape = stored.quantizedMatmul {
      let candidates = QuantizedMatmulTuning.candidates(
        subgroupSize: device.capabilities.subgroupSize, maxWorkgroupSize: device.maxWorkgroupSize)
      #expect(candidates.contains(shape))
      let listing = try tessera(["devices"], cache: cache)
      #expect(listing.stdout.contains("tuned (quantized matmul \(shape))"), "\(listing.stdout)")
    }
  }

  @Test(.enabled(if: vulkan?.isCPU == true, "no Vulkan device running on the CPU"))
  func aCPUDriverHasNoStagedMatmulToTune() throws {
    let device = try #require(Self.vulkan)
    let cache = TestSupport.temporaryDirectory("tune-cli-staged")
    let result = try tessera(["tune", "--device", device.info.name, "--family", "staged", "--dry-run"], cache: cache)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("the staged matmul: not used on \(device.info.name)"), "\(result.stdout)")
    #expect(!result.stdout.contains("tuning the quantized matmul"))
  }

  @Test(.enabled(if: vulkan != nil, "no usable Vulkan device"))
  func aDryRunWritesNothing() throws {
    let device = try #require(Self.vulkan)
    let cache = TestSupport.temporaryDirectory("tune-cli-dry")
    let result = try tessera(
      ["tune", "--device", device.info.name, "--matrices", "q8_0[9,32]", "--repeat", "1", "--dry-run"], cache: cache)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(!FileManager.default.fileExists(atPath: cache + "/tuning"))
  }

  @Test(
    "bad arguments are errors naming what is wrong",
    arguments: [
      (["tune"], "tune needs --device D"),
      (["tune", "--device", "cpu"], "cpu has nothing to tune"),
      (
        ["tune", "--device", "vulkan:0", "--matrices", "q4_1[40,63]"],
        "has 63 columns, not a multiple of q4_1's block of 32"
      ),
      (
        ["tune", "--device", "vulkan:0", "--matrices", "f32[4,4]"],
        "'f32[4,4]' is not TYPE[ROWS,COLUMNS] with a block type"
      ),
      (["tune", "--device", "vulkan:0", "--repeat", "0"], "--repeat expects a positive integer"),
      (["tune", "--device", "vulkan:0", "--products", "64x64"], "--products: '64x64' is not MxNxK"),
      (["tune", "--device", "vulkan:0", "--products", "64x0x8"], "--products: '64x0x8' is not MxNxK"),
      (
        ["tune", "--device", "vulkan:0", "--products", "99999999999x99999999999x9"],
        "is not MxNxK with sizes from 1 to 65536"
      ),
      (["tune", "--device", "vulkan:0", "--products", "65536x65536x1"], "at most 2^31 multiply-adds"),
      (["tune", "--device", "vulkan:0", "--products", " ; "], "--products: no entry given"),
      (
        ["tune", "--device", "vulkan:0", "--family", "gemm"], "--family expects quantized, staged or all, found 'gemm'"
      ),
    ])
  func badArguments(arguments: [String], message: String) throws {
    let result = try tessera(arguments, cache: TestSupport.temporaryDirectory("tune-cli-bad"))
    #expect(result.status == 2)
    #expect(result.stderr.contains(message), "\(result.stderr)")
  }
}
