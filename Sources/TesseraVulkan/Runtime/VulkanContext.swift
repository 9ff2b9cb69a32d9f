import CVulkan
import Synchronization
import TesseraRuntime

/// One logical device with its compute queue: what buffers, pipelines and command buffers are
/// made from.
///
/// Thread safety: the device handle and function table are immutable; `vkQueueSubmit` needs
/// the queue externally synchronised, which ``submit(_:fence:)`` does with a lock. Other
/// device-level calls Tessera makes take no externally synchronised parameters shared between
/// threads, so `@unchecked Sendable` holds.
final class VulkanContext: @unchecked Sendable {
  let instance: VulkanInstance
  let physical: VkPhysicalDevice
  let device: VkDevice
  let functions: DeviceFunctions
  let queueFamily: UInt32
  let properties: VkPhysicalDeviceProperties
  /// Whether shaders may use 64-bit integers (`shaderInt64`).
  let supportsInt64: Bool
  /// The subgroup size where compute shaders have subgroup arithmetic, else `nil`
  /// (``VulkanInstance/computeSubgroupSize(_:)``).
  let computeSubgroupSize: Int?
  /// Nanoseconds per timestamp tick, or `nil` when the compute queue writes no timestamps
  /// (its family's `timestampValidBits` is 0 — the per-queue answer that
  /// `timestampComputeAndGraphics` only promises for every queue at once — or the period is 0).
  let timestampPeriod: Double?
  /// The bits of a timestamp that count (`timestampValidBits`); differences wrap within them.
  let timestampMask: UInt64
  /// Whether graph buffers live in device-local memory the host does not map, with data moved
  /// through host-visible twins: on discrete GPUs, where the largest device-local heap has no
  /// host-visible, coherent memory type, or when forced (``VulkanMemoryPolicy``).
  var staged: Bool { memoryPolicy.staged }
  /// Whether the implementation runs on the host's CPU (lavapipe, SwiftShader).
  var isCPU: Bool { properties.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU }
  /// Workgroups one dispatch may have along x, y, z: `maxComputeWorkGroupCount`, or less when
  /// capped; a larger launch is split into several dispatches.
  let workgroupLimit: [Int]
  /// How many ``VulkanObject``s of this device are alive.
  let liveObjects = Atomic<Int>(0)
  private let queue: VkQueue
  private let queueLock = Lock()
  private let memoryPolicy: VulkanMemoryPolicy

  /// Opens `physical`; `forceStaging` takes the staged path (``staged``) even on unified memory,
  /// `maxWorkgroupCount` caps ``workgroupLimit``.
  init(
    instance: VulkanInstance, physical: VkPhysicalDevice, forceStaging: Bool = false, maxWorkgroupCount: Int? = nil
  ) throws(VulkanError) {
    self.instance = instance
    self.physical = physical
    properties = instance.properties(physical)
    let limits = properties.limits.maxComputeWorkGroupCount
    workgroupLimit = [limits.0, limits.1, limits.2].map { min(Int($0), maxWorkgroupCount ?? .max) }
    guard let family = instance.computeQueueFamily(physical) else { throw .noSuitable("compute queue family") }
    queueFamily = family.index
    timestampPeriod =
      family.timestampBits > 0 && properties.limits.timestampPeriod > 0
      ? Double(properties.limits.timestampPeriod) : nil
    timestampMask = family.timestampBits >= 64 ? .max : (1 << UInt64(family.timestampBits)) - 1
    var features = VkPhysicalDeviceFeatures()
    instance.functions.getFeatures(physical, &features)
    supportsInt64 = features.shaderInt64 != 0
    computeSubgroupSize = instance.computeSubgroupSize(physical)
    var enabled = VkPhysicalDeviceFeatures()
    enabled.shaderInt64 = features.shaderInt64
    var priority: Float = 1
    var handle: VkDevice?
    let status = withUnsafePointer(to: &priority) { priorityPointer in
      var queueInfo = VkDeviceQueueCreateInfo()
      queueInfo.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO
      queueInfo.queueFamilyIndex = family.index
      queueInfo.queueCount = 1
      queueInfo.pQueuePriorities = priorityPointer
      return withUnsafePointer(to: &queueInfo) { queuePointer in
        withUnsafePointer(to: &enabled) { featuresPointer in
          var create = VkDeviceCreateInfo()
          create.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO
          create.queueCreateInfoCount = 1
          create.pQueueCreateInfos = queuePointer
          create.pEnabledFeatures = featuresPointer
          return instance.functions.createDevice(physical, &create, nil, &handle)
        }
      }
    }
    try check(status, "vkCreateDevice")
    guard let handle else { throw .call("vkCreateDevice", code: -3) }
    device = handle
    do {
      functions = try DeviceFunctions { instance.functions.getDeviceProcAddr(handle, $0) }
    } catch {
      let destroy: PFN_vkDestroyDevice? = try? resolve("vkDestroyDevice") {
        instance.functions.getDeviceProcAddr(handle, $0)
      }
      destroy?(handle, nil)
      throw error
    }
    var queueHandle: VkQueue?
    functions.getQueue(device, family.index, 0, &queueHandle)
    queue = queueHandle!
    var memory = VkPhysicalDeviceMemoryProperties()
    instance.functions.getMemoryProperties(physical, &memory)
    let types = withUnsafeBytes(of: memory.memoryTypes) {
      Array($0.bindMemory(to: VkMemoryType.self).prefix(Int(memory.memoryTypeCount)))
    }
    let heaps = withUnsafeBytes(of: memory.memoryHeaps) {
      Array($0.bindMemory(to: VkMemoryHeap.self).prefix(Int(memory.memoryHeapCount)))
    }
    memoryPolicy = VulkanMemoryPolicy(
      deviceType: properties.deviceType, typeFlags: types.map(\.propertyFlags),
      typeHeaps: types.map { Int($0.heapIndex) },
      heapSizes: heaps.map(\.size),
      localHeaps: Set(heaps.indices.filter { heaps[$0].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT.rawValue != 0 }),
      forceStaging: forceStaging)
  }

  deinit {
    _ = functions.deviceWaitIdle(device)
    functions.destroyDevice(device, nil)
  }

  /// A memory type allowed by `allowed` (a requirements bit mask) for a buffer the host maps
  /// (``VulkanMemoryPolicy/hostVisibleType(_:)``).
  func hostVisibleMemoryType(_ allowed: UInt32) throws(VulkanError) -> UInt32 {
    guard let index = memoryPolicy.hostVisibleType(allowed) else {
      throw .noSuitable("host-visible coherent memory type")
    }
    return UInt32(index)
  }

  /// A device-local memory type allowed by `allowed` (``VulkanMemoryPolicy/deviceLocalType(_:)``).
  func deviceLocalMemoryType(_ allowed: UInt32) throws(VulkanError) -> UInt32 {
    guard let index = memoryPolicy.deviceLocalType(allowed) else { throw .noSuitable("device-local memory type") }
    return UInt32(index)
  }

  /// Submits one command buffer and waits for it on `fence` (then resets the fence).
  func submit(_ commandBuffer: VkCommandBuffer, fence: VkFence) throws(VulkanError) {
    var buffer: VkCommandBuffer? = commandBuffer
    var info = VkSubmitInfo()
    info.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO
    info.commandBufferCount = 1
    let status = TraceRecorder.span("vkQueueSubmit") {
      withUnsafePointer(to: &buffer) { pointer in
        info.pCommandBuffers = pointer
        return queueLock.withLock { functions.queueSubmit(queue, 1, &info, fence) }
      }
    }
    try check(status, "vkQueueSubmit")
    var fences: VkFence? = fence
    let waited = TraceRecorder.span("wait (vkWaitForFences)") {
      functions.waitForFences(device, 1, &fences, VkBool32(VK_TRUE), UInt64.max)
    }
    try check(waited, "vkWaitForFences")
    try check(functions.resetFences(device, 1, &fences), "vkResetFences")
  }
}

/// Owns one device-level Vulkan object (buffer, memory, pipeline…) and destroys it in `deinit`
/// with the function given at creation; keeps its ``VulkanContext`` alive until then.
///
/// Thread safety: the handle is immutable and only destroyed once no reference remains, so
/// `@unchecked Sendable` holds; users synchronise any call that the specification requires to be
/// externally synchronised.
final class VulkanObject: @unchecked Sendable {
  let handle: OpaquePointer
  let context: VulkanContext
  private let destroy: (VulkanContext, OpaquePointer) -> Void

  init(_ handle: OpaquePointer, _ context: VulkanContext, destroy: @escaping (VulkanContext, OpaquePointer) -> Void) {
    self.handle = handle
    self.context = context
    self.destroy = destroy
    context.liveObjects.add(1, ordering: .relaxed)
  }

  deinit {
    destroy(context, handle)
    context.liveObjects.subtract(1, ordering: .relaxed)
  }
}

extension VulkanContext {
  /// Calls a `vkCreate…` function through `create`, wraps the handle with its destructor.
  func make(
    _ name: String, destroy: @escaping (VulkanContext, OpaquePointer) -> Void,
    _ create: (inout OpaquePointer?) -> VkResult
  ) throws(VulkanError) -> VulkanObject {
    var handle: OpaquePointer?
    try check(create(&handle), name)
    guard let handle else { throw .call(name, code: -3) }
    return VulkanObject(handle, self, destroy: destroy)
  }
}
