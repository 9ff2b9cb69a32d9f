import CVulkan

/// Command pools, fences, command buffers and barriers: the small pieces every recording uses.
enum VulkanCommands {
  /// A command pool on the context's compute queue family.
  static func makeCommandPool(_ context: VulkanContext) throws(VulkanError) -> VulkanObject {
    let functions = context.functions, device = context.device, family = context.queueFamily
    return try context.make(
      "vkCreateCommandPool", destroy: { $0.functions.destroyCommandPool($0.device, $1, nil) }
    ) { handle in
      var info = VkCommandPoolCreateInfo()
      info.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO
      info.queueFamilyIndex = family
      return functions.createCommandPool(device, &info, nil, &handle)
    }
  }

  /// An unsignalled fence.
  static func makeFence(_ context: VulkanContext) throws(VulkanError) -> VulkanObject {
    let functions = context.functions, device = context.device
    return try context.make("vkCreateFence", destroy: { $0.functions.destroyFence($0.device, $1, nil) }) { handle in
      var info = VkFenceCreateInfo()
      info.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO
      return functions.createFence(device, &info, nil, &handle)
    }
  }

  /// A new primary command buffer from `pool`, begun.
  static func begin(_ context: VulkanContext, pool: VulkanObject) throws(VulkanError) -> VkCommandBuffer {
    let functions = context.functions
    var allocate = VkCommandBufferAllocateInfo()
    allocate.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO
    allocate.commandPool = pool.handle
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

  /// A global memory barrier from `source` (stages, accesses) to `destination`.
  static func memoryBarrier(
    _ context: VulkanContext, _ commandBuffer: VkCommandBuffer, from source: (VkPipelineStageFlagBits, VkAccessFlags),
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
