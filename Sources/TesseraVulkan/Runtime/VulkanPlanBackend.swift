import CVulkan
import TesseraCompiler
import TesseraIR
import TesseraRuntime

/// A compiled plan's pipelines on one Vulkan device, for ``PlanRunner``: a compute pipeline per
/// distinct SPIR-V module (the steps of identical kernels share one), created on a few threads
/// through the on-disk pipeline cache, and each run of consecutive device steps recorded once
/// into a command buffer (see ``VulkanRecorder``) that later runs submit again while their
/// buffers stay the same.
///
/// Injected faults: `build` fails the pipeline of the kernel it hits.
final class VulkanPlanBackend: PlanBackend {
  /// One recorded run of steps and the objects it owns (destroyed with it).
  private final class Segment: @unchecked Sendable {
    let commandBuffer: VkCommandBuffer
    let pools: [VulkanObject]
    let queryPool: VulkanObject?
    let timedKernels: [String]

    init(commandBuffer: VkCommandBuffer, pools: [VulkanObject], queryPool: VulkanObject?, timedKernels: [String]) {
      self.commandBuffer = commandBuffer
      self.pools = pools
      self.queryPool = queryPool
      self.timedKernels = timedKernels
    }
  }

  private let device: VulkanDevice
  private let context: VulkanContext
  private let cache: VulkanPipelineCache
  private let fence: VulkanObject

  init(device: VulkanDevice, context: VulkanContext, cache: VulkanPipelineCache) throws(DeviceError) {
    self.device = device
    self.context = context
    self.cache = cache
    do {
      fence = try VulkanCommands.makeFence(context)
    } catch {
      throw .compileFailed(device: device.info.name, message: error.description)
    }
  }

  var store: any TensorStore { device }
  var faults: FaultInjection { device.faults }
  var hostRunner: (any HostKernelRunner)? { device.host }
  /// Where the compute queue writes timestamps.
  /// A graph whose arena cannot be had fails to compile.
  var allocatesArenaAtCompile: Bool { true }
  var timesKernels: Bool { context.timestampPeriod != nil }

  /// A pipeline for each step placed on this device; the others run on the host. One pipeline is
  /// made per distinct ``PipelineKey`` (the kernels of repeated layers share one): its SPIR-V
  /// module generated and the pipeline created on a few threads, through the pipeline cache.
  func prepare(_ plan: CompiledPlan) throws(DeviceError) -> [StepPreparation] {
    try plan.refuseInterleavedCopies(device: device.info.name)
    let calls = plan.steps.compactMap { $0.device == plan.target.name ? $0.call : nil }
    let limit = device.capabilities.maxKernelBuffers
    if let call = calls.first(where: { $0.kernel.buffers.count > limit }) {
      throw .compileFailed(
        device: device.info.name,
        message: "kernel \(call.kernel.name) takes \(call.kernel.buffers.count) buffers; the device binds at most "
          + "\(limit) storage buffers to a shader (maxPerStageDescriptorStorageBuffers)")
    }
    let pipelines: [VulkanPipeline]
    do throws(VulkanError) {
      pipelines = try self.pipelines(for: calls, plan: plan)
    } catch {
      throw .compileFailed(device: device.info.name, message: error.description)
    }
    cache.save()
    var next = 0
    return try StepPreparation.each(of: plan) { _ in
      defer { next += 1 }
      return pipelines[next]
    }
  }

  /// What decides a step's pipeline, known before its SPIR-V is generated: steps with equal keys
  /// get equal modules (the module names no step), so they share a pipeline.
  private struct PipelineKey: Hashable, Sendable {
    /// The kernel without its name (``Kernel/unnamed``).
    let kernel: Kernel
    /// Buffers that overlap another of the call's (``VulkanPlanBinding/aliasedBuffers(of:in:)``).
    let aliased: Set<Int>
    /// Whether the launch is split because its workgroup counts exceed the device's limits.
    let splitLaunch: Bool
    /// The kernel an injected `build` fault fails: its pipeline is its own, and fails.
    let faultedKernel: String?
  }

  /// The pipeline of each call, one made per distinct ``PipelineKey`` from its first call.
  private func pipelines(for calls: [KernelCall], plan: CompiledPlan) throws(VulkanError) -> [VulkanPipeline] {
    var slots: [PipelineKey: Int] = [:]
    var firstCalls: [(call: KernelCall, key: PipelineKey)] = []
    let slotOfCall = calls.map { call in
      let key = key(of: call, plan: plan)
      if let slot = slots[key] { return slot }
      slots[key] = firstCalls.count
      firstCalls.append((call, key))
      return firstCalls.count - 1
    }
    let distinct = firstCalls
    let label = "building \(distinct.count) pipeline\(distinct.count == 1 ? "" : "s") for \(device.info.name)"
    let built = try ProgressLine.during(label, total: distinct.count) { progress throws(VulkanError) in
      try ParallelBuilds.map(count: distinct.count) { slot throws(VulkanError) in
        defer { progress.advance() }
        let (call, key) = distinct[slot]
        let module: SPIRVModule
        do throws(SPIRVCodegenError) {
          module = try SPIRVCodegen.generate(call.kernel, aliased: key.aliased, splitLaunch: key.splitLaunch)
        } catch {
          throw .codegen(error)
        }
        do throws(VulkanError) {
          return try VulkanPipeline(
            call.kernel, module: module, splitLaunch: key.splitLaunch, context: self.context,
            cache: self.cache, injectFailure: key.faultedKernel != nil)
        } catch {
          throw .kernel(call.kernel.name, error)
        }
      }
    }
    return slotOfCall.map { built[$0] }
  }

  /// The key of `call`'s pipeline (its launch split over several dispatches when its workgroup
  /// counts exceed the device's limits).
  private func key(of call: KernelCall, plan: CompiledPlan) -> PipelineKey {
    let counts = call.kernel.groupCounts(call.scalars) + [1, 1]
    let split = (0..<3).contains { counts[$0] > context.workgroupLimit[$0] }
    let faulted = faults.hit(.build, device: device.info.name, targets: [call.kernel.name]) != nil
    return PipelineKey(
      kernel: call.kernel.unnamed, aliased: VulkanPlanBinding.aliasedBuffers(of: call, in: plan), splitLaunch: split,
      faultedKernel: faulted ? call.kernel.name : nil)
  }

  /// Records the steps into one command buffer, with descriptor sets on the values' buffers.
  func encode(_ steps: [PreparedStep], plan: CompiledPlan, locate: (ValueID) -> ValueLocation) throws(DeviceError)
    -> any Sendable
  {
    do {
      return try record(steps, locate: locate)
    } catch {
      throw .kernelFailed(kernel: "vulkan command buffer", message: error.description)
    }
  }

  private func record(_ steps: [PreparedStep], locate: (ValueID) -> ValueLocation) throws(VulkanError) -> Segment {
    let functions = context.functions, device = context.device
    let descriptorCount = UInt32(max(1, steps.reduce(0) { $0 + $1.call.kernel.buffers.count }))
    let setCount = UInt32(max(1, steps.count))
    let descriptorPool = try context.make(
      "vkCreateDescriptorPool", destroy: { $0.functions.destroyDescriptorPool($0.device, $1, nil) }
    ) { handle in
      var size = VkDescriptorPoolSize(type: VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, descriptorCount: descriptorCount)
      var info = VkDescriptorPoolCreateInfo()
      info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO
      info.maxSets = setCount
      info.poolSizeCount = 1
      return withUnsafePointer(to: &size) { sizes in
        info.pPoolSizes = sizes
        return functions.createDescriptorPool(device, &info, nil, &handle)
      }
    }
    let commandPool = try VulkanCommands.makeCommandPool(context)
    let queryCount = UInt32(max(1, 2 * steps.count))
    let queryPool =
      context.timestampPeriod == nil
      ? nil
      : try context.make("vkCreateQueryPool", destroy: { $0.functions.destroyQueryPool($0.device, $1, nil) }) {
        handle in
        var info = VkQueryPoolCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO
        info.queryType = VK_QUERY_TYPE_TIMESTAMP
        info.queryCount = queryCount
        return functions.createQueryPool(device, &info, nil, &handle)
      }
    var recorder = VulkanRecorder(
      context: context, descriptorPool: descriptorPool, commandPool: commandPool, queryPool: queryPool)
    let dispatches = steps.map { step in
      let spans = step.call.buffers.map { value in
        let location = locate(value)
        return VulkanSpan(
          buffer: (location.memory as! VulkanMemory).buffer, offset: location.offset, size: location.size)
      }
      return (call: step.call, pipeline: step.kernel as! VulkanPipeline, spans: spans)
    }
    let commandBuffer = try recorder.record(dispatches)
    return Segment(
      commandBuffer: commandBuffer, pools: [descriptorPool, commandPool], queryPool: queryPool,
      timedKernels: recorder.timedKernels)
  }

  /// Submits the command buffer and waits; when profiling, reads each dispatch's time.
  func submit(_ encoded: any Sendable, profile: Bool) throws(DeviceError) -> [KernelTiming] {
    let segment = encoded as! Segment
    do {
      try context.submit(segment.commandBuffer, fence: fence.handle)
      return profile ? try timings(segment) : []
    } catch {
      throw .kernelFailed(kernel: "vulkan command buffer", message: error.description)
    }
  }

  /// The timed dispatches' durations from the query pool (ticks masked to `timestampValidBits`,
  /// scaled by `timestampPeriod`).
  private func timings(_ segment: Segment) throws(VulkanError) -> [KernelTiming] {
    guard let queryPool = segment.queryPool, !segment.timedKernels.isEmpty, let period = context.timestampPeriod else {
      return []
    }
    let names = segment.timedKernels
    let queries = UInt32(2 * names.count)
    var ticks = [UInt64](repeating: 0, count: Int(queries))
    let flags = VK_QUERY_RESULT_64_BIT.rawValue | VK_QUERY_RESULT_WAIT_BIT.rawValue
    let status = ticks.withUnsafeMutableBytes { bytes in
      context.functions.getQueryPoolResults(
        context.device, queryPool.handle, 0, queries, bytes.count, bytes.baseAddress, 8, flags)
    }
    try check(status, "vkGetQueryPoolResults")
    return names.indices.map { index in
      let elapsed = (ticks[2 * index + 1] &- ticks[2 * index]) & context.timestampMask
      let offset = (ticks[2 * index] &- ticks[0]) & context.timestampMask
      return KernelTiming(
        kernel: names[index], seconds: Double(elapsed) * period / 1e9, start: Double(offset) * period / 1e9)
    }
  }
}
