import TesseraIR
import TesseraRuntime
import TesseraTestSupport
import TesseraVulkan
import Testing

/// Per-dispatch device times from the timestamp query pool.
@Suite(
  "Vulkan kernel timing",
  .enabled(if: VulkanTestDevice.device != nil, Comment(rawValue: VulkanTestDevice.skipReason)))
struct VulkanProfilingTests {
  private let mlp = """
    func @mlp(%x: f32[4,64], %w1: f32[64,128], %b1: f32[128], %w2: f32[128,10]) -> (f32[4,10], i32[4]) {
      %h = matmul %x, %w1 : f32[4,128]
      %hb = add %h, %b1 : f32[4,128]
      %a = silu %hb : f32[4,128]
      %logits = matmul %a, %w2 : f32[4,10]
      %p = softmax %logits {axis = -1} : f32[4,10]
      %class = argmax %p {axis = 1} : i32[4]
      return %p, %class
    }
    """

  @Test func aProfileTimesEveryDeviceKernelOfThePlan() throws {
    let device = try #require(VulkanTestDevice.device as? VulkanDevice)
    let graph = try TestSupport.parseOne(mlp)
    let plan = try device.plan(graph)
    let kernels = plan.steps.filter { $0.device == plan.target.name }.compactMap(\.call?.kernel.name)
    var generator = SeededRandom(seed: 4)
    let inputs = Dictionary(
      uniqueKeysWithValues: graph.arguments.map {
        (graph[$0].name, Tensor.random(graph.type(of: $0), using: &generator))
      })
    let compiled = try device.compile(graph)
    let timings = try #require(try compiled.profile(inputs: inputs), "lavapipe writes timestamps")
    #expect(timings.map(\.kernel) == kernels)
    #expect(!kernels.isEmpty)
    #expect(timings.allSatisfy { $0.seconds >= 0 && $0.seconds.isFinite })
    // A profiled run computes what a plain run does.
    let expected = try TestSupport.evaluate(graph, graph.arguments.map { inputs[graph[$0].name]! })
    for (actual, wanted) in zip(try compiled.run(inputs: inputs), expected) {
      #expect(TestSupport.toleranceRatio(actual, wanted, atol: 1e-5, rtol: 1e-4) <= 1)
    }
  }
}
