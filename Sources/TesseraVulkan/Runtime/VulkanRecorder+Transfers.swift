import CVulkan

extension VulkanRecorder {
  /// A command buffer copying `regions` from their host twins to the device-local buffers
  /// (weights, once).
  func upload(_ regions: [VulkanRegion]) throws(VulkanError) -> VkCommandBuffer {
    let commandBuffer = try begin()
    copyIn(commandBuffer, regions)
    try check(context.functions.endCommandBuffer(commandBuffer), "vkEndCommandBuffer")
    return commandBuffer
  }

  /// Copies `regions` from their host twins to the device, then a barrier making the copies
  /// visible to the shaders that follow in the queue.
  func copyIn(_ commandBuffer: VkCommandBuffer, _ regions: [VulkanRegion]) {
    copy(commandBuffer, regions, toDevice: true)
    memoryBarrier(
      commandBuffer, from: (VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT.rawValue),
      to: (
        VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT.rawValue | VK_ACCESS_SHADER_WRITE_BIT.rawValue
      ))
  }

  /// A new primary command buffer, begun.
  func begin() throws(VulkanError) -> VkCommandBuffer {
    let functions = context.functions
    var allocate = VkCommandBufferAllocateInfo()
    allocate.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO
    allocate.commandPool = commandPool.handle
    allocate.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY
    allocate.commandBufferCount = 1
    var handle: VkCommandBuffer?
    try check(functions.allocateCommandBuffers(context.device, &allocate, &handle), "vkAllocateCommandBuffers")
    guard let commandBuffer = handle else { throw .call("vkAllocateCommandBuffers", code: -3) }
    var begin = VkCommandBufferBeginInfo()
    begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO
    try check(functions.beginCommandBuffer(commandBuffer, &begin), "vkBeginCommandBuffer")
    return commandBuffer
  }

  /// `vkCmdCopyBuffer` of each non-empty region between its host twin and its device buffer,
  /// one call per buffer.
  func copy(_ commandBuffer: VkCommandBuffer, _ regions: [VulkanRegion], toDevice: Bool) {
    let byLocation = Dictionary(grouping: regions.filter { $0.size > 0 }, by: \.location)
    for (location, regions) in byLocation {
      let copies = regions.map { region in
        VkBufferCopy(
          srcOffset: VkDeviceSize(region.offset), dstOffset: VkDeviceSize(region.offset),
          size: VkDeviceSize(bindingSize(region)))
      }
      let (device, host) = (buffers.buffer(location).buffer.handle, buffers.host(location).buffer.handle)
      context.functions.cmdCopyBuffer(
        commandBuffer, toDevice ? host : device, toDevice ? device : host, UInt32(copies.count), copies)
    }
  }

  /// A global memory barrier from `source` (stages, accesses) to `destination`.
  func memoryBarrier(
    _ commandBuffer: VkCommandBuffer, from source: (VkPipelineStageFlagBits, VkAccessFlags),
    to destination: (VkPipelineStageFlagBits, VkAccessFlags)
  ) {
    var barrier = VkMemoryBarrier()
    barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER
    barrier.srcAccessMask = source.1
    barrier.dstAccessMask = destination.1
    context.functions.cmdPipelineBarrier(
      commandBuffer, source.0.rawValue, destination.0.rawValue, 0, 1, &barrier, 0, nil, 0, nil)
  }
}
