import TesseraIR
import TesseraRuntime
import TesseraTestSupport
import TesseraVulkan
import Testing

/// A kernel may bind no more storage buffers than the device allows a shader
/// (`maxPerStageDescriptorStorageBuffers`: lavapipe's 32); more is a clear error before any
/// pipeline is made, where lavapipe would fault.
@Suite(
  "Vulkan kernels within the device's storage buffer limit",
  .enabled(if: VulkanTestDevice.device != nil, Comment(rawValue: VulkanTestDevice.skipReason)))
struct VulkanBufferLimitTests {
  /// A sum of `count` arguments, fused into one kernel that reads every one of them.
  private static func sum(of count: Int) -> String {
    let arguments = (0..<count).map { "%a\($0): f32[4]" }.joined(separator: ", ")
    let adds = (1..<count).map { "  %s\($0) = add \($0 == 1 ? "%a0" : "%s\($0 - 1)"), %a\($0) : f32[4]" }
    return "func @f(\(arguments)) -> (f32[4]) {\n" + adds.joined(separator: "\n") + "\n  return %s\(count - 1)\n}"
  }

  @Test func aKernelOfTooManyBuffersIsAnErrorNamingItAndTheLimit() throws {
    let device = try #require(VulkanTestDevice.device as? VulkanDevice)
    let limit = device.capabilities.maxKernelBuffers
    try #require(limit < 256, "the device allows \(limit) buffers: no graph here reaches it")
    let graph = try TestSupport.parseOne(Self.sum(of: limit + 1))
    #expect {
      try device.compile(graph)
    } throws: { error in
      guard case .compileFailed(_, let message) = error as? DeviceError else { return false }
      return message.contains("takes \(limit + 2) buffers") && message.contains("at most \(limit) storage buffers")
    }
  }

  @Test func aKernelWithinTheLimitRuns() throws {
    let device = try #require(VulkanTestDevice.device as? VulkanDevice)
    let count = min(device.capabilities.maxKernelBuffers - 1, 31)
    let graph = try TestSupport.parseOne(Self.sum(of: count))
    let inputs = (0..<count).map { Tensor([Double($0), 1, -2, 0.5], shape: [4], dtype: .f32) }
    let result = try device.compile(graph).run(inputs: inputs)
    let expected = try TestSupport.evaluate(graph, inputs)
    #expect(TestSupport.toleranceRatio(result[0], expected[0], atol: 1e-5, rtol: 1e-5) <= 1)
  }
}
