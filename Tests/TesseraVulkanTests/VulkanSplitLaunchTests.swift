import TesseraIR
import TesseraRuntime
import TesseraTestSupport
import TesseraVulkan
import Testing

/// Launches with more workgroups than a dispatch may have, split into several dispatches.
@Suite(
  "Vulkan launches split under a small workgroup limit",
  .enabled(if: VulkanTestDevice.device != nil, Comment(rawValue: VulkanTestDevice.skipReason)))
struct VulkanSplitLaunchTests {
  /// At most 2 workgroups per axis per dispatch.
  private static let capped = VulkanTestDevice.first(maxWorkgroupCount: 2)

  private func check(_ text: String, seed: UInt64) throws {
    let graph = try TestSupport.parseOne(text)
    var generator = SeededRandom(seed: seed)
    let inputs = graph.argumentTypes.map { Tensor.random($0, integerBound: 2, using: &generator) }
    let expected = try TestSupport.evaluate(graph, inputs)
    let actual = try #require(Self.capped).compile(graph).run(inputs: inputs)
    for (a, e) in zip(actual, expected) {
      #expect(TestSupport.toleranceRatio(a, e, atol: 1e-4, rtol: 1e-3) <= 1, "\(a.preview()) vs \(e.preview())")
    }
  }

  @Test func aLongElementwiseLaunchAndAMatmulGridMatchTheReference() throws {
    try check(
      """
      func @f(%x: f32[64,100], %w: f32[100,96]) -> (f32[64,96], f32[64,100]) {
        %h = matmul %x, %w : f32[64,96]
        %e = exp %x : f32[64,100]
        %s = softmax %h {axis = 1} : f32[64,96]
        return %s, %e
      }
      """, seed: 11)
  }

  @Test("every op example", arguments: OpExample.all)
  func opExamples(example: OpExample) throws {
    try check(example.text, seed: 5)
  }
}
