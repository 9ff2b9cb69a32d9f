import CVulkan
import TesseraCompiler
import TesseraIR
import TesseraRuntime

/// A compiled plan on one Vulkan device: buffers placed as the memory plan says (one arena, one
/// buffer per input and per weight), a descriptor set per dispatch, and prerecorded command
/// buffers — one per run of consecutive device steps, with a buffer memory barrier only where a
/// dispatch reads or overwrites what an earlier one in the same command buffer touched. Steps
/// on the fallback device run on the host runner between submissions, reading and writing the
/// host's view of the buffers (explicit copies). On a staged context the buffers are
/// device-local and each command buffer copies what it needs from and to host-visible twins
/// (see ``VulkanBufferSet``). Where the compute queue writes timestamps, every dispatch
/// is timed in a query pool of the executable's own (see ``VulkanRecorder``), read back only by
/// ``executeTimed(_:)``.
///
/// Injected faults: `alloc` fails the allocation of the buffer it hits, `build` the pipeline of
/// the kernel it hits, and `timeout` a run at the submission of the command buffer holding the
/// kernel it hits, which is then not submitted.
final class VulkanExecutable: GraphExecutable {
  private enum Segment {
    /// A command buffer and the kernels it dispatches.
    case device(VkCommandBuffer, kernels: [String])
    case host(KernelCall)
  }

  /// A run of consecutive device calls, or one call for the host runner.
  private enum Chunk {
    case device([(KernelCall, VulkanPipeline)])
    case host(KernelCall)

    var isDevice: Bool { if case .device = self { true } else { false } }
  }

  let plan: CompiledPlan
  private let context: VulkanContext
  private let host: (any HostKernelRunner)?
  private let deviceName: String
  private let faults: FaultInjection
  private let buffers: VulkanBufferSet
  private let pipelines: [VulkanPipeline]
  private let pools: [VulkanObject]
  private let fence: VulkanObject
  private let queryPool: VulkanObject?
  /// The kernel of each timed dispatch, in query order; `nil` when the device has no timestamps.
  let timedKernels: [String]?
  nonisolated(unsafe) private let segments: [Segment]
  /// Serialises runs: they share the buffers, the command buffers and the fence.
  private let running = Lock()

  init(
    plan: CompiledPlan, context: VulkanContext, cache: VulkanPipelineCache, host: (any HostKernelRunner)?,
    deviceName: String, faults: FaultInjection
  ) throws(VulkanError) {
    self.plan = plan
    self.context = context
    self.host = host
    self.deviceName = deviceName
    self.faults = faults
    buffers = try VulkanBufferSet(plan, context: context, faults: faults, device: deviceName)
    let deviceCalls = plan.steps.filter { $0.device == plan.target.name }.compactMap(\.call)
    var pipelines: [VulkanPipeline] = []
    var byModule: [SPIRVModule: VulkanPipeline] = [:]
    for call in deviceCalls {
      let counts = call.kernel.groupCounts(call.scalars) + [1, 1]
      let split = (0..<3).contains { counts[$0] > context.workgroupLimit[$0] }
      let module: SPIRVModule
      do {
        module = try SPIRVCodegen.generate(
          call.kernel, aliased: VulkanPlanBinding.aliasedBuffers(of: call, in: plan), splitLaunch: split)
      } catch {
        throw .codegen(error)
      }
      let injected = faults.hit(.build, device: deviceName, targets: [call.kernel.name]) != nil
      let pipeline: VulkanPipeline
      if let known = byModule[module], !injected {
        pipeline = known
      } else {
        do {
          pipeline = try VulkanPipeline(
            call.kernel, module: module, splitLaunch: split, context: context, cache: cache, injectFailure: injected)
        } catch {
          throw .kernel(call.kernel.name, error)
        }
        byModule[module] = pipeline
      }
      pipelines.append(pipeline)
    }
    self.pipelines = pipelines
    let functions = context.functions, device = context.device
    let descriptorCount = UInt32(max(1, deviceCalls.reduce(0) { $0 + $1.kernel.buffers.count }))
    let setCount = UInt32(max(1, deviceCalls.count))
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
    let family = context.queueFamily
    let commandPool = try context.make(
      "vkCreateCommandPool", destroy: { $0.functions.destroyCommandPool($0.device, $1, nil) }
    ) { handle in
      var info = VkCommandPoolCreateInfo()
      info.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO
      info.queueFamilyIndex = family
      return functions.createCommandPool(device, &info, nil, &handle)
    }
    pools = [descriptorPool, commandPool]
    fence = try context.make("vkCreateFence", destroy: { $0.functions.destroyFence($0.device, $1, nil) }) { handle in
      var info = VkFenceCreateInfo()
      info.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO
      return functions.createFence(device, &info, nil, &handle)
    }
    let queryCount = UInt32(max(1, 2 * deviceCalls.count))
    queryPool =
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
      context: context, descriptorPool: descriptorPool, commandPool: commandPool, buffers: buffers,
      queryPool: queryPool)
    if buffers.staged && !buffers.weights.isEmpty {
      try context.submit(try recorder.upload(buffers.weightRegions), fence: fence.handle)
    }
    var chunks: [Chunk] = []
    var pipelineIndex = 0
    for step in plan.steps {
      guard let call = step.call else { continue }
      if step.device == plan.target.name {
        if case .device(let pending)? = chunks.last {
          chunks[chunks.count - 1] = .device(pending + [(call, pipelines[pipelineIndex])])
        } else {
          chunks.append(.device([(call, pipelines[pipelineIndex])]))
        }
        pipelineIndex += 1
      } else {
        guard host != nil else {
          throw .noSuitable("host runner for \(call.kernel.name), which runs on \(step.device)")
        }
        chunks.append(.host(call))
      }
    }
    segments = try Self.record(chunks, plan: plan, recorder: &recorder)
    timedKernels = queryPool == nil ? nil : recorder.timedKernels
  }

  /// Records each device chunk. Staged buffers: a chunk first uploads what the host wrote
  /// since the previous chunk (the inputs, for the first), and last downloads what the host
  /// steps up to the next chunk read (and the results, for the last chunk).
  private static func record(_ chunks: [Chunk], plan: CompiledPlan, recorder: inout VulkanRecorder)
    throws(VulkanError) -> [Segment]
  {
    let staged = recorder.buffers.staged
    func regions(_ call: KernelCall, writtenOnly: Bool) -> [VulkanRegion] {
      call.buffers.indices.filter { !writtenOnly || call.kernel.buffers[$0].access != .read }.map {
        VulkanPlanBinding.region(of: call.buffers[$0], in: plan)
      }
    }
    var segments: [Segment] = []
    var uploads = staged ? recorder.buffers.inputRegions : []
    for (index, chunk) in chunks.enumerated() {
      switch chunk {
      case .host(let call):
        segments.append(.host(call))
        if staged { uploads += regions(call, writtenOnly: true).filter { $0.location == .arena } }
      case .device(let calls):
        var downloads: [VulkanRegion] = []
        if staged {
          let rest = chunks[(index + 1)...]
          for case .host(let call) in rest.prefix(while: { !$0.isDevice }) {
            downloads += regions(call, writtenOnly: false)
          }
          if !rest.contains(where: \.isDevice) {
            downloads += plan.graph.results.map { VulkanPlanBinding.region(of: $0, in: plan) }
          }
        }
        let commandBuffer = try recorder.record(calls, plan: plan, uploads: uploads, downloads: downloads)
        segments.append(.device(commandBuffer, kernels: calls.map(\.0.kernel.name)))
        uploads = []
      }
    }
    return segments
  }

  func execute(_ inputs: [Tensor]) throws(DeviceError) -> [Tensor] {
    try run(inputs, timed: false).results
  }

  /// Runs once and returns each dispatch's device time (empty when the device has no timestamps).
  func executeTimed(_ inputs: [Tensor]) throws(DeviceError) -> (results: [Tensor], kernels: [KernelTiming]) {
    try run(inputs, timed: true)
  }

  private func run(_ inputs: [Tensor], timed: Bool) throws(DeviceError) -> (
    results: [Tensor], kernels: [KernelTiming]
  ) {
    try running.withLock { () throws(DeviceError) in
      for (index, input) in inputs.enumerated() { buffers.host(.input(index)).write(input.bytes, at: 0) }
      for segment in segments {
        switch segment {
        case .device(let commandBuffer, let kernels):
          if let hit = faults.hit(.timeout, device: deviceName, targets: kernels) {
            throw .timeout(device: deviceName, kernels: kernels, reason: hit.description)
          }
          do throws(VulkanError) {
            try context.submit(commandBuffer, fence: fence.handle)
          } catch {
            throw .kernelFailed(kernel: "vulkan command buffer", message: error.description)
          }
        case .host(let call):
          let outputs = try host!.run(call, buffers: call.buffers.map(read))
          for (position, parameter) in call.kernel.buffers.enumerated() where parameter.access != .read {
            write(outputs[position], to: call.buffers[position])
          }
        }
      }
      let results = plan.graph.results.map(read)
      guard timed else { return (results, []) }
      do throws(VulkanError) {
        return (results, try timings())
      } catch {
        throw .kernelFailed(kernel: "vulkan timestamps", message: error.description)
      }
    }
  }

  /// The timed dispatches' durations from the query pool (ticks masked to `timestampValidBits`,
  /// scaled by `timestampPeriod`).
  private func timings() throws(VulkanError) -> [KernelTiming] {
    guard let queryPool, let names = timedKernels, !names.isEmpty, let period = context.timestampPeriod else {
      return []
    }
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
      return KernelTiming(kernel: names[index], seconds: Double(elapsed) * period / 1e9)
    }
  }

  private func read(_ value: ValueID) -> Tensor {
    let region = VulkanPlanBinding.region(of: value, in: plan)
    let type = plan.graph.type(of: value)
    return Tensor(type: type, bytes: buffers.host(region.location).read(region.size, at: region.offset))!
  }

  private func write(_ tensor: Tensor, to value: ValueID) {
    let region = VulkanPlanBinding.region(of: value, in: plan)
    guard region.location == .arena else { return }
    buffers.host(.arena).write(tensor.bytes, at: region.offset)
  }
}
