import TesseraCPU
import TesseraCompiler
import TesseraIR
import TesseraRuntime
import TesseraTestSupport
import Testing

@testable import TesseraVulkan

/// Kernels equal up to their names share one pipeline (created on a few threads): a model's
/// repeated layers cost one pipeline per distinct kernel and still compute the reference's
/// results.
@Suite(
  "Vulkan creates one pipeline per distinct kernel",
  .enabled(if: VulkanTestDevice.device != nil, Comment(rawValue: VulkanTestDevice.skipReason)))
struct VulkanKernelSharingTests {
  /// A device with a context of its own, so its count of live objects is its own.
  private func device() throws -> VulkanDevice {
    let provider = VulkanProvider(options: VulkanTestDevice.options, host: InterpreterKernelRunner())
    return try #require(provider.discover().lazy.compactMap { $0.device as? VulkanDevice }.first)
  }

  @Test func moreLayersOfTheSameKernelsCreateNoMorePipelines() throws {
    var objects: [Int: Int] = [:]
    var dispatches: [Int: Int] = [:]
    for layers in [3, 6] {
      let device = try device()
      let graph = try RepeatedLayers.graph(layers: layers)
      let inputs = RepeatedLayers.inputs(graph)
      let before = device.liveObjects
      let compiled = try device.compile(graph)
      objects[layers] = device.liveObjects - before
      dispatches[layers] = try device.plan(graph).steps.filter { $0.device == device.capabilities.name }.count
      #expect(try RepeatedLayers.matchReference(graph, inputs, compiled.run(inputs: inputs)))
    }
    #expect(dispatches[6]! > dispatches[3]!, "three more layers dispatch more kernels")
    #expect(objects[6] == objects[3], "but create no more pipelines: \(objects) Vulkan objects")
  }
}
