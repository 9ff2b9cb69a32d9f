import CVulkan
import TesseraRuntime

/// A buffer of a Vulkan device, as device tensors and compiled graphs hold it: mapped host-visible
/// memory, or, on a staged context (``VulkanContext/staged``), device-local memory with a
/// host-visible twin of the same size that copies go through. Both are counted in the device's
/// ``AllocationCounter`` while they live.
final class VulkanMemory: DeviceMemory {
  /// The buffer shaders bind.
  let buffer: VulkanBuffer
  /// The host-visible twin, on a staged context.
  let twin: VulkanBuffer?
  /// What it holds, for errors.
  let name: String
  let byteCount: Int
  private let counted: CountedAllocation

  /// Wraps `buffer` (and its `twin`) holding `byteCount` usable bytes; their sizes are counted
  /// in `counter`.
  init(buffer: VulkanBuffer, twin: VulkanBuffer?, name: String, byteCount: Int, counter: AllocationCounter) {
    self.buffer = buffer
    self.twin = twin
    self.name = name
    self.byteCount = byteCount
    counted = counter.count(buffer.size + (twin?.size ?? 0))
  }

  /// The buffer's size plus its twin's.
  var allocatedBytes: Int { counted.bytes }
}

/// One-shot copies between staged buffers and their twins: a command pool and a fence of their
/// own, used under a lock (command pools need external synchronisation).
final class VulkanTransfers: Sendable {
  private let context: VulkanContext
  private let commandPool: VulkanObject
  private let fence: VulkanObject
  private let lock = Lock()

  init(_ context: VulkanContext) throws(VulkanError) {
    self.context = context
    commandPool = try VulkanCommands.makeCommandPool(context)
    fence = try VulkanCommands.makeFence(context)
  }

  /// Copies `size` bytes at `offset` from the twin to the device buffer (`toDevice`) or back, and
  /// waits for the copy.
  func copy(_ memory: VulkanMemory, offset: Int, size: Int, toDevice: Bool) throws(VulkanError) {
    guard let twin = memory.twin, size > 0 else { return }
    try lock.withLock { () throws(VulkanError) in
      let functions = context.functions
      let commandBuffer = try VulkanCommands.begin(context, pool: commandPool)
      defer {
        var handle: VkCommandBuffer? = commandBuffer
        functions.freeCommandBuffers(context.device, commandPool.handle, 1, &handle)
      }
      let end = min(memory.buffer.size, (offset + size + 3) / 4 * 4)
      var region = VkBufferCopy(
        srcOffset: VkDeviceSize(offset), dstOffset: VkDeviceSize(offset), size: VkDeviceSize(end - offset))
      let (source, destination) = toDevice ? (twin, memory.buffer) : (memory.buffer, twin)
      functions.cmdCopyBuffer(commandBuffer, source.buffer.handle, destination.buffer.handle, 1, &region)
      VulkanCommands.memoryBarrier(
        context, commandBuffer, from: (VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT.rawValue),
        to: (
          VkPipelineStageFlagBits(VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT.rawValue | VK_PIPELINE_STAGE_HOST_BIT.rawValue),
          VK_ACCESS_SHADER_READ_BIT.rawValue | VK_ACCESS_SHADER_WRITE_BIT.rawValue | VK_ACCESS_HOST_READ_BIT.rawValue
        ))
      try check(functions.endCommandBuffer(commandBuffer), "vkEndCommandBuffer")
      try context.submit(commandBuffer, fence: fence.handle)
    }
  }
}

/// The device's memory: buffers (device-local with twins when staged), and copies that finish
/// before they return.
extension VulkanDevice: TensorStore {
  /// The device's name.
  public var deviceName: String { info.name }

  /// Bytes of the live buffers this store created, device-local ones and their host-visible
  /// staging twins both, at their sizes (whole 32-bit words); buffers a host runner makes for one
  /// launch are not counted.
  public var allocatedBytes: Int { allocations.bytes }

  /// A storage buffer (and its twin when staged); an injected `alloc` fault for `name` fails it
  /// as the driver would.
  public func allocate(bytes: Int, name: String) throws(DeviceError) -> any DeviceMemory {
    let injected = faults.hit(.alloc, device: info.name, targets: [name]) != nil
    do {
      let buffer = try VulkanBuffer(context, size: bytes, deviceLocal: context.staged, injectFailure: injected)
      let twin = context.staged ? try VulkanBuffer(context, size: bytes) : nil
      return VulkanMemory(buffer: buffer, twin: twin, name: name, byteCount: bytes, counter: allocations)
    } catch {
      throw .allocationFailed(device: info.name, buffer: name, bytes: bytes, message: error.description)
    }
  }

  /// Copies into the mapped buffer, or into the twin and on to the device.
  public func write(_ bytes: UnsafeRawBufferPointer, to memory: any DeviceMemory, at offset: Int) throws(DeviceError) {
    let memory = memory as! VulkanMemory
    guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
    (memory.twin ?? memory.buffer).mapped!.advanced(by: offset).copyMemory(from: base, byteCount: bytes.count)
    do {
      try transfers.copy(memory, offset: offset, size: bytes.count, toDevice: true)
    } catch {
      throw .kernelFailed(kernel: "copy to \(memory.name)", message: error.description)
    }
  }

  /// Copies out of the mapped buffer, or from the device to the twin and out of it.
  public func read(_ memory: any DeviceMemory, at offset: Int, count: Int) throws(DeviceError) -> [UInt8] {
    let memory = memory as! VulkanMemory
    do {
      try transfers.copy(memory, offset: offset, size: count, toDevice: false)
    } catch {
      throw .kernelFailed(kernel: "copy from \(memory.name)", message: error.description)
    }
    return (memory.twin ?? memory.buffer).read(count, at: offset)
  }
}
