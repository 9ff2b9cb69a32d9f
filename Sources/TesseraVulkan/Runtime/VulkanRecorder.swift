import CVulkan
import TesseraCompiler
import TesseraIR

/// Records a run of device steps into one command buffer: descriptor sets bound to the
/// memory plan's regions, push constants for scalars, dispatches, and barriers where needed.
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
  let buffers: VulkanBufferSet
  let queryPool: VulkanObject?
  /// The kernels timed so far, in query order: kernel `i` owns queries `2i` and `2i + 1`.
  private(set) var timedKernels: [String] = []

  init(
    context: VulkanContext, descriptorPool: VulkanObject, commandPool: VulkanObject, buffers: VulkanBufferSet,
    queryPool: VulkanObject?
  ) {
    self.context = context
    self.descriptorPool = descriptorPool
    self.commandPool = commandPool
    self.buffers = buffers
    self.queryPool = queryPool
  }

  /// Records `dispatches` (calls with their pipelines) into a new primary command buffer.
  /// Staged buffers: `uploads` are copied from the host twins first, `downloads` back to them
  /// after the last dispatch.
  mutating func record(
    _ dispatches: [(KernelCall, VulkanPipeline)], plan: CompiledPlan, uploads: [VulkanRegion] = [],
    downloads: [VulkanRegion] = []
  ) throws(VulkanError) -> VkCommandBuffer {
    let functions = context.functions
    let commandBuffer = try begin()
    if !uploads.isEmpty { copyIn(commandBuffer, uploads) }
    if let queryPool {
      let launched = dispatches.filter { call, _ in call.kernel.groupCounts(call.scalars).allSatisfy { $0 > 0 } }
      if !launched.isEmpty {
        functions.cmdResetQueryPool(
          commandBuffer, queryPool.handle, UInt32(2 * timedKernels.count), UInt32(2 * launched.count))
      }
    }
    var written: [VulkanRegion] = [], read: [VulkanRegion] = []
    for (call, pipeline) in dispatches {
      let regions = call.buffers.map { VulkanPlanBinding.region(of: $0, in: plan) }
      let writes = call.kernel.buffers.indices.filter { call.kernel.buffers[$0].access != .read }.map { regions[$0] }
      let reads = call.kernel.buffers.indices.filter { call.kernel.buffers[$0].access != .write }.map { regions[$0] }
      let dirty = written.filter { w in regions.contains { $0.overlaps(w) } }
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
      var set = try descriptorSet(call, pipeline, regions)
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
    if !downloads.isEmpty {
      memoryBarrier(
        commandBuffer, from: (VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT.rawValue),
        to: (VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT.rawValue))
      copy(commandBuffer, downloads, toDevice: false)
    }
    memoryBarrier(
      commandBuffer,
      from: (
        VkPipelineStageFlagBits(
          VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT.rawValue | VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue),
        VK_ACCESS_SHADER_WRITE_BIT.rawValue | VK_ACCESS_TRANSFER_WRITE_BIT.rawValue
      ),
      to: (VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT.rawValue))
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
  private func barrier(_ commandBuffer: VkCommandBuffer, _ dirty: [VulkanRegion]) {
    let barriers = dirty.map { region in
      var barrier = VkBufferMemoryBarrier()
      barrier.sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER
      barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT.rawValue
      barrier.dstAccessMask = VK_ACCESS_SHADER_READ_BIT.rawValue | VK_ACCESS_SHADER_WRITE_BIT.rawValue
      barrier.srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED
      barrier.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED
      barrier.buffer = buffers.buffer(region.location).buffer.handle
      barrier.offset = VkDeviceSize(region.offset)
      barrier.size = VkDeviceSize(bindingSize(region))
      return barrier
    }
    let stage = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT.rawValue
    barriers.withUnsafeBufferPointer { pointer in
      context.functions.cmdPipelineBarrier(
        commandBuffer, stage, stage, 0, 0, nil, UInt32(pointer.count), pointer.baseAddress, 0, nil)
    }
  }

  /// Bytes bound for a region: whole words, at least one, within the buffer.
  func bindingSize(_ region: VulkanRegion) -> Int {
    let buffer = buffers.buffer(region.location)
    return min(max(4, (region.size + 3) / 4 * 4), buffer.size - region.offset)
  }

  private func descriptorSet(_ call: KernelCall, _ pipeline: VulkanPipeline, _ regions: [VulkanRegion])
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
        buffer: buffers.buffer(region.location).buffer.handle, offset: VkDeviceSize(region.offset),
        range: VkDeviceSize(bindingSize(region)))
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
