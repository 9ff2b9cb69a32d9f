import CVulkan

/// A storage buffer that is also a transfer source and destination, either in host-visible,
/// coherent memory, mapped for its whole life (inputs are written and results read with plain
/// copies; the fence wait and the final host barrier make the device's writes visible), or in
/// device-local memory the host cannot map, reached through a host-visible twin and
/// `vkCmdCopyBuffer` (see ``VulkanBufferSet``).
///
/// Thread safety: the handles never change; the mapped bytes are written only by the executable
/// that owns the buffer, under its lock, so `@unchecked Sendable` holds.
final class VulkanBuffer: @unchecked Sendable {
  let buffer: VulkanObject
  let memory: VulkanObject
  let size: Int
  /// The host's view of the bytes; `nil` for device-local memory.
  let mapped: UnsafeMutableRawPointer?

  /// A buffer of at least `size` bytes (rounded up to whole 32-bit words), host-visible unless
  /// `deviceLocal`. `injectFailure` (an injected `alloc` fault) has `vkAllocateMemory` fail with
  /// `VK_ERROR_OUT_OF_DEVICE_MEMORY` without calling the driver, after the buffer was created.
  init(_ context: VulkanContext, size requested: Int, deviceLocal: Bool = false, injectFailure: Bool = false)
    throws(VulkanError)
  {
    size = max(4, (requested + 3) / 4 * 4)
    let functions = context.functions, device = context.device
    let bytes = size
    buffer = try context.make("vkCreateBuffer", destroy: { $0.functions.destroyBuffer($0.device, $1, nil) }) { handle in
      var info = VkBufferCreateInfo()
      info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
      info.size = VkDeviceSize(bytes)
      info.usage =
        VK_BUFFER_USAGE_STORAGE_BUFFER_BIT.rawValue | VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue
        | VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue
      info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
      return functions.createBuffer(device, &info, nil, &handle)
    }
    var requirements = VkMemoryRequirements()
    functions.getBufferMemoryRequirements(device, buffer.handle, &requirements)
    let typeIndex =
      deviceLocal
      ? try context.deviceLocalMemoryType(requirements.memoryTypeBits)
      : try context.hostVisibleMemoryType(requirements.memoryTypeBits)
    memory = try context.make("vkAllocateMemory", destroy: { $0.functions.freeMemory($0.device, $1, nil) }) { handle in
      guard !injectFailure else { return VK_ERROR_OUT_OF_DEVICE_MEMORY }
      var info = VkMemoryAllocateInfo()
      info.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO
      info.allocationSize = requirements.size
      info.memoryTypeIndex = typeIndex
      return functions.allocateMemory(device, &info, nil, &handle)
    }
    try check(functions.bindBufferMemory(device, buffer.handle, memory.handle, 0), "vkBindBufferMemory")
    guard !deviceLocal else {
      mapped = nil
      return
    }
    var pointer: UnsafeMutableRawPointer?
    try check(functions.mapMemory(device, memory.handle, 0, VkDeviceSize(VK_WHOLE_SIZE), 0, &pointer), "vkMapMemory")
    guard let pointer else { throw .call("vkMapMemory", code: -5) }
    mapped = pointer
    pointer.initializeMemory(as: UInt8.self, repeating: 0, count: size)
  }

  /// Copies `bytes` in at byte `offset` (host-visible buffers only).
  func write(_ bytes: [UInt8], at offset: Int) {
    bytes.withUnsafeBytes { source in
      if let base = source.baseAddress { (mapped! + offset).copyMemory(from: base, byteCount: bytes.count) }
    }
  }

  /// `count` bytes from byte `offset` (host-visible buffers only).
  func read(_ count: Int, at offset: Int) -> [UInt8] {
    Array(UnsafeRawBufferPointer(start: mapped! + offset, count: count))
  }
}
