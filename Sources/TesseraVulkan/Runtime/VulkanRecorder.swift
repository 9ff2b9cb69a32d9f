import CVulkan
import TesseraCompiler
import TesseraIR

/// Records a run of device steps into one command buffer: descriptor sets bound to the
/// spans of the run's buffers, push constants for scalars, dispatches, and barriers where needed.
///
/// Hazards are tracked by byte region since the last barrier: a dispatch that reads or writes
/// bytes an earlier dispatch wrote gets a buffer memory barrier for those bytes (shader write to
/// shader read/write); one that overwrites bytes an earlier dispatch read (the arena reuses
/// them) gets an execution barrier. Independent dispatches get none. The command buffer ends
/// with a barrier making every shader write visible to the host.
///
/// With a timestamp query pool, each dispatch is bracketed by two `vkCmdWriteTimestamp`s (top of
/// pipe before, bottom of pipe after), taking the next two queries of the pool; the command
/// buffer first resets the queries it uses, so it can be submitted again.
struct VulkanRecorder {
  let context: VulkanContext
  let descriptorPool: VulkanObject
  let commandPool: VulkanObject
  let queryPool: VulkanObject?
  /// The kernels timed so far, in query order: kernel `i` owns queries `2i` and `2i + 1`.
  private(set) var timedKernels: [String] = []

  init(context: VulkanContext, descriptorPool: VulkanObject, commandPool: VulkanObject, queryPool: VulkanObject?) {
    self.context = context
    self.descriptorPool = descriptorPool
    self.commandPool = commandPool
    self.queryPool = queryPool
  }

  /// Records `dispatches` (calls with their pipelines and the span of each of their buffers)
  /// into a new primary command buffer, ending with a barrier that makes every shader write
  /// visible to the host and to later copies.
  mutating func record(_ dispatches: [(call: KernelCall, pipeline: VulkanPipeline, spans: [VulkanSpan])])
    throws(VulkanError) -> VkCommandBuffer
  {
    let functions = context.functions
    let commandBuffer = try VulkanCommands.begin(context, pool: commandPool)
    if let queryPool {
      let launched = dispatches.filter { $0.call.kernel.groupCounts($0.call.scalars).allSatisfy { $0 > 0 } }
      if !launched.isEmpty {
        functions.cmdResetQueryPool(
          commandBuffer, queryPool.handle, UInt32(2 * timedKernels.count), UInt32(2 * launched.count))
      }
    }
    var written: [VulkanSpan] = [], read: [VulkanSpan] = []
    for (call, pipeline, spans) in dispatches {
      let writes = call.kernel.buffers.indices.filter { call.kernel.buffers[$0].access != .read }.map { spans[$0] }
      let reads = call.kernel.buffers.indices.filter { call.kernel.buffers[$0].access != .write }.map { spans[$0] }
      let dirty = written.filter { w in spans.contains { $0.overlaps(w) } }
      let overwritesRead = read.contains { r in writes.contains { $0.overlaps(r) } }
      if !dirty.isEmpty || overwritesRead {
        barrier(commandBuffer, dirty)
        written = []
        read = []
      }
      written += writes
      read += reads
      let counts = Array((call.kernel.groupCounts(call.scalars) + [1, 1]).prefix(3))
      guard counts.allSatisfy({ $0 > 0 }) else { continue }
      var set = try descriptorSet(pipeline, spans)
      functions.cmdBindPipeline(commandBuffer, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.pipeline.handle)
      functions.cmdBindDescriptorSets(
        commandBuffer, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.layout.handle, 0, 1, &set, 0, nil)
      let scalars = call.kernel.scalars.map { scalar in
        let value = call.scalars[scalar.name] ?? 0
        return scalar.dtype == .f32
          ? Float(value).bitPattern : UInt32(bitPattern: Int32(truncatingIfNeeded: Int64(value)))
      }
      push(commandBuffer, pipeline, scalars, at: 0)
      timestamp(commandBuffer, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, query: 2 * timedKernels.count)
      if pipeline.splitLaunch {
        dispatchSplit(commandBuffer, pipeline, counts, launchWordsAt: scalars.count * 4)
      } else {
        functions.cmdDispatch(commandBuffer, UInt32(counts[0]), UInt32(counts[1]), UInt32(counts[2]))
      }
      timestamp(commandBuffer, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, query: 2 * timedKernels.count + 1)
      if queryPool != nil { timedKernels.append(call.kernel.name) }
    }
    VulkanCommands.memoryBarrier(
      context, commandBuffer, from: (VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT.rawValue),
      to: (
        VkPipelineStageFlagBits(VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue | VK_PIPELINE_STAGE_HOST_BIT.rawValue),
        VK_ACCESS_TRANSFER_READ_BIT.rawValue | VK_ACCESS_HOST_READ_BIT.rawValue
      ))
    try check(functions.endCommandBuffer(commandBuffer), "vkEndCommandBuffer")
    return commandBuffer
  }

  /// Dispatches a launch of `counts` workgroups as dispatches of at most
  /// ``VulkanContext/workgroupLimit`` per axis, pushing each one's first workgroup and the
  /// launch's counts at byte `launchWordsAt` (a `splitLaunch` module adds them to its ids).
  private func dispatchSplit(
    _ commandBuffer: VkCommandBuffer, _ pipeline: VulkanPipeline, _ counts: [Int], launchWordsAt offset: Int
  ) {
    let limit = context.workgroupLimit
    for z in stride(from: 0, to: counts[2], by: limit[2]) {
      for y in stride(from: 0, to: counts[1], by: limit[1]) {
        for x in stride(from: 0, to: counts[0], by: limit[0]) {
          let first = [x, y, z]
          push(commandBuffer, pipeline, (first + counts).map { UInt32($0) }, at: offset)
          let size = (0..<3).map { UInt32(min(limit[$0], counts[$0] - first[$0])) }
          context.functions.cmdDispatch(commandBuffer, size[0], size[1], size[2])
        }
      }
    }
  }

  /// Pushes `words` at byte `offset` of the pipeline's push constants (nothing for none).
  private func push(_ commandBuffer: VkCommandBuffer, _ pipeline: VulkanPipeline, _ words: [UInt32], at offset: Int) {
    guard !words.isEmpty else { return }
    words.withUnsafeBytes { bytes in
      context.functions.cmdPushConstants(
        commandBuffer, pipeline.layout.handle, VK_SHADER_STAGE_COMPUTE_BIT.rawValue, UInt32(offset),
        UInt32(bytes.count), bytes.baseAddress)
    }
  }

  /// Writes timestamp `query` of the pool at `stage`, when there is a pool.
  private func timestamp(_ commandBuffer: VkCommandBuffer, _ stage: VkPipelineStageFlagBits, query: Int) {
    guard let queryPool else { return }
    context.functions.cmdWriteTimestamp(commandBuffer, stage, queryPool.handle, UInt32(query))
  }

  /// Compute-to-compute barrier; `dirty` regions get shader-write to shader-read/write visibility.
  private func barrier(_ commandBuffer: VkCommandBuffer, _ dirty: [VulkanSpan]) {
    let barriers = dirty.map { region in
      var barrier = VkBufferMemoryBarrier()
      barrier.sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER
      barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT.rawValue
      barrier.dstAccessMask = VK_ACCESS_SHADER_READ_BIT.rawValue | VK_ACCESS_SHADER_WRITE_BIT.rawValue
      barrier.srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED
      barrier.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED
      barrier.buffer = region.buffer.buffer.handle
      barrier.offset = VkDeviceSize(region.offset)
      barrier.size = VkDeviceSize(region.bindingSize)
      return barrier
    }
    let stage = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT.rawValue
    barriers.withUnsafeBufferPointer { pointer in
      context.functions.cmdPipelineBarrier(
        commandBuffer, stage, stage, 0, 0, nil, UInt32(pointer.count), pointer.baseAddress, 0, nil)
    }
  }

  private func descriptorSet(_ pipeline: VulkanPipeline, _ regions: [VulkanSpan])
    throws(VulkanError) -> VkDescriptorSet?
  {
    let functions = context.functions, device = context.device
    var layout: VkDescriptorSetLayout? = pipeline.setLayout.handle
    var allocate = VkDescriptorSetAllocateInfo()
    allocate.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO
    allocate.descriptorPool = descriptorPool.handle
    allocate.descriptorSetCount = 1
    var set: VkDescriptorSet?
    let status = withUnsafePointer(to: &layout) { layouts in
      allocate.pSetLayouts = layouts
      return functions.allocateDescriptorSets(device, &allocate, &set)
    }
    try check(status, "vkAllocateDescriptorSets")
    let infos = regions.map { region in
      VkDescriptorBufferInfo(
        buffer: region.buffer.buffer.handle, offset: VkDeviceSize(region.offset),
        range: VkDeviceSize(region.bindingSize))
    }
    infos.withUnsafeBufferPointer { infoPointer in
      let writes = infos.indices.map { index in
        var write = VkWriteDescriptorSet()
        write.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET
        write.dstSet = set
        write.dstBinding = UInt32(index)
        write.descriptorCount = 1
        write.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
        write.pBufferInfo = infoPointer.baseAddress! + index
        return write
      }
      functions.updateDescriptorSets(device, UInt32(writes.count), writes, 0, nil)
    }
    return set
  }
}

/// The bytes of one kernel buffer in a run: a range of a device buffer.
struct VulkanSpan {
  /// The buffer.
  let buffer: VulkanBuffer
  /// The first byte.
  let offset: Int
  /// Bytes of the value.
  let size: Int

  /// Whether the two spans share a byte (empty spans share none).
  func overlaps(_ other: VulkanSpan) -> Bool {
    buffer === other.buffer && offset < other.offset + other.size && other.offset < offset + size
  }

  /// Bytes bound: whole words, at least one, within the buffer.
  var bindingSize: Int { min(max(4, (size + 3) / 4 * 4), buffer.size - offset) }
}
