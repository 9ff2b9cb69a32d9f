import TesseraCPU
import TesseraCompiler
import TesseraIR
import TesseraRuntime
import TesseraTestSupport
import Testing

@testable import TesseraVulkan

/// Injected faults on Vulkan take the driver's error paths: each error names the device and the
/// kernel (or buffer), and every Vulkan object made before the failure is destroyed.
@Suite(
  "Fault injection on Vulkan: errors name the device and kernel, nothing leaks",
  .enabled(if: VulkanTestDevice.device != nil, Comment(rawValue: VulkanTestDevice.skipReason)))
struct VulkanFaultTests {
  private let graph = FaultTesting.graph

  /// A device with a context of its own (so its count of live objects is its own), injecting
  /// `spec`; `staged` puts the buffers in device-local memory with host-visible twins.
  private func device(_ spec: String, staged: Bool = false) throws -> VulkanDevice {
    let provider = VulkanProvider(
      options: VulkanTestDevice.options, host: InterpreterKernelRunner(), forceStaging: staged,
      faults: try FaultInjection(parsing: spec))
    return try #require(provider.discover().lazy.compactMap { $0.device as? VulkanDevice }.first)
  }

  /// The kernels the device runs for the graph, in dispatch order.
  private func kernels(_ device: VulkanDevice) throws -> [String] {
    try device.plan(graph).steps.filter { $0.device == device.capabilities.name }.compactMap { $0.call?.kernel.name }
  }

  /// What compiling the graph and running it once throws; `nil` when both succeed.
  private func failure(_ device: VulkanDevice) -> DeviceError? {
    do throws(DeviceError) {
      _ = try device.compile(graph).run(inputs: FaultTesting.inputs)
      return nil
    } catch {
      return error
    }
  }

  @Test("a fault of each kind, with host-visible or staged buffers", arguments: FaultKind.allCases, [false, true])
  func eachKind(kind: FaultKind, staged: Bool) throws {
    let device = try device("\(kind.rawValue):vulkan", staged: staged)
    let name = device.info.name
    let kernels = try kernels(device)
    let before = device.liveObjects
    let error = try #require(failure(device), "the \(kind) fault fails the compile or the run")
    switch (kind, error) {
    case (.alloc, .allocationFailed(name, "the arena", _, let message)):
      #expect(
        message == "vkAllocateMemory failed: VK_ERROR_OUT_OF_DEVICE_MEMORY (device allocation failed) (VkResult -2)")
    case (.build, .compileFailed(name, let message)):
      #expect(message.hasPrefix("kernel \(kernels[0]): vkCreateComputePipelines failed: VK_ERROR_INVALID_SHADER_NV"))
    case (.timeout, .timeout(name, let submitted, let reason)):
      #expect(submitted == kernels, "one command buffer holds every dispatch")
      #expect(reason == "injected fault timeout:vulkan hit \(kernels[0])")
    default:
      Issue.record("unexpected error for a \(kind) fault: \(error)")
    }
    #expect(device.liveObjects == before, "every buffer, memory, pipeline and pool is destroyed")
  }

  @Test func filtersPickOneKernelOrBuffer() throws {
    let kernels = try kernels(device("build:vulkan"))
    #expect(kernels.count >= 3, "\(kernels)")
    let last = kernels.last!
    let build = try device("build:vulkan:0:kernel=\(last)")
    let before = build.liveObjects
    guard case .compileFailed(_, let message)? = failure(build) else {
      Issue.record("a build fault for \(last) did not fail the compile")
      return
    }
    #expect(message.hasPrefix("kernel \(last): vkCreateComputePipelines failed"))
    #expect(build.liveObjects == before, "the pipelines built before \(last) are destroyed")

    for (buffer, bytes) in [("w", 192), ("b", 24)] {
      let alloc = try device("alloc:vulkan:buffer=\(buffer)")
      let start = alloc.liveObjects
      let expected = DeviceError.allocationFailed(
        device: alloc.info.name, buffer: "%" + buffer, bytes: bytes,
        message: "vkAllocateMemory failed: VK_ERROR_OUT_OF_DEVICE_MEMORY (device allocation failed) (VkResult -2)")
      #expect(failure(alloc) == expected)
      #expect(alloc.liveObjects == start, "the arena and the buffers made before %\(buffer) are destroyed")
    }
  }

  @Test func aFaultForAnotherKernelBufferOrDeviceChangesNothing() throws {
    let device = try device("build:vulkan:kernel=k99_none,timeout:vulkan:7,alloc:vulkan:buffer=nothing")
    let before = device.liveObjects
    #expect(try FaultTesting.matchReference(device.compile(graph).run(inputs: FaultTesting.inputs)))
    #expect(device.liveObjects == before, "a compiled graph's objects go with it")
  }
}
