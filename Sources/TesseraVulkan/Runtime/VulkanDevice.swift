import CVulkan
import TesseraCompiler
import TesseraIR
import TesseraRuntime

/// One Vulkan physical device as a Tessera target: graphs compile through the graph compiler,
/// kernels through ``SPIRVCodegen`` into compute pipelines, and runs are prerecorded command
/// buffers submitted by ``PlanRunner`` (see ``VulkanPlanBackend``). The device is its own
/// ``TensorStore``: device tensors are its buffers.
public final class VulkanDevice: TunableDevice {
  /// Name (`vulkan:N`), driver and memory.
  public let info: DeviceInfo
  /// What the device computes: every op not excluded by its provider; i64 only with `shaderInt64`;
  /// subgroup sums where compute shaders have subgroup arithmetic, unless the provider turned
  /// them off; the launch shapes of its tuning file (``TunableDevice``).
  public let capabilities: TargetCapabilities
  /// Why the tuning file was not used; `nil` when it was, or there was none.
  public let tuningProblem: TuningFileError?
  private let excludedOps: Set<OpKind>
  private let subgroupSums: Bool
  private let choosesForCPU: Bool
  /// ``info`` as discovery gave it, before the note on the tuning.
  private let discoveredInfo: DeviceInfo
  /// The device itself: its buffers hold device tensors.
  public var store: any TensorStore { self }
  let context: VulkanContext
  private let cache: VulkanPipelineCache
  private let options: CompileOptions
  let host: (any HostKernelRunner)?
  let faults: FaultInjection
  let transfers: VulkanTransfers
  /// What the device's buffers and their twins hold: ``TensorStore/allocatedBytes``.
  let allocations = AllocationCounter()

  /// Opens the device on `context`; `tuning` defaults to the one in the device's ``TuningFile``.
  init(
    info: DeviceInfo, context: VulkanContext, options: CompileOptions, host: (any HostKernelRunner)?,
    excludedOps: Set<OpKind>, subgroupSums: Bool, choosesForCPU: Bool, faults: FaultInjection,
    tuning: KernelTuning? = nil
  ) throws(VulkanError) {
    self.context = context
    self.options = options
    self.host = host
    self.faults = faults
    self.excludedOps = excludedOps
    self.subgroupSums = subgroupSums
    self.choosesForCPU = choosesForCPU
    discoveredInfo = info
    cache = try VulkanPipelineCache(context)
    transfers = try VulkanTransfers(context)
    var capabilities = TargetCapabilities.gpu("vulkan")
    let limits = context.properties.limits
    capabilities.maxKernelBuffers = Int(min(limits.maxPerStageDescriptorStorageBuffers, limits.maxPerStageResources))
    if !context.supportsInt64 { capabilities.dtypes.remove(.i64) }
    if subgroupSums { capabilities.subgroupSize = context.computeSubgroupSize }
    // On a CPU implementation (lavapipe) a prefill's products decode their weights for the
    // blocked matmul: SmolLM2 prefill 16.7 → 42.5 tok/s on AMD EPYC Zen 5. GPUs keep the tiled
    // kernel, which decodes each weight once per workgroup (not measured on one yet).
    // Nor does lavapipe compute RMS norms inside the products, where it runs ALU-bound: reading
    // x from shared memory made SmolLM2's q, k, v, gate/up and output products 8–15% slower
    // than the two norm kernels they save (decode 3–6% slower, alternating runs).
    // Independent kernels run as one launch there (q, k and v's products; the queries' RoPE with
    // the keys' cache write): SmolLM2's decode step 116–121 → 114.5–115 ms (fastest of 16
    // steps, two alternating traces), 335 → 245 dispatches.
    if choosesForCPU && context.isCPU {
      capabilities.dequantizedProductRows = TargetCapabilities.tiledProductRows
      capabilities.fusesNormsIntoProducts = false
      capabilities.stagedMatmul = nil
      capabilities.mergesIndependentLaunches = true
    }
    capabilities.ops.subtract(excludedOps)
    if let tuning {
      capabilities.tuning = tuning
      tuningProblem = nil
    } else {
      (capabilities.tuning, tuningProblem) = Self.storedTuning(
        kind: .vulkan, deviceKey: Self.tuningKey(context.properties), subgroupSize: capabilities.subgroupSize,
        maxWorkgroupSize: Int(context.properties.limits.maxComputeWorkGroupInvocations))
    }
    capabilities.fitStagedMatmul(
      maxWorkgroupSize: Int(limits.maxComputeWorkGroupInvocations),
      maxSharedBytes: Int(limits.maxComputeSharedMemorySize))
    self.capabilities = capabilities
    var info = info
    info.driver += TuningFile.note(capabilities.tuning, problem: tuningProblem)
    self.info = info
  }

  /// The device's name, vendor and device ids and driver version: keys its tuning.
  public var tuningKey: String { Self.tuningKey(context.properties) }

  private static func tuningKey(_ properties: VkPhysicalDeviceProperties) -> String {
    [
      cString(properties.deviceName), String(properties.vendorID, radix: 16), String(properties.deviceID, radix: 16),
      String(properties.driverVersion, radix: 16),
    ].joined(separator: "|")
  }

  /// `maxComputeWorkGroupInvocations`.
  public var maxWorkgroupSize: Int { Int(context.properties.limits.maxComputeWorkGroupInvocations) }
  /// The shared memory of one workgroup (`maxComputeSharedMemorySize`).
  public var maxSharedMemoryBytes: Int { Int(context.properties.limits.maxComputeSharedMemorySize) }
  /// Whether the implementation runs on the host's CPU (lavapipe), as an OpenCL device's
  /// ``OpenCLDeviceProperties/isCPU`` says for PoCL.
  public var isCPU: Bool { context.isCPU }

  /// A copy on the same context that compiles with `tuning`.
  public func tuned(_ tuning: KernelTuning) throws(DeviceError) -> any TunableDevice {
    do {
      return try VulkanDevice(
        info: discoveredInfo, context: context, options: options, host: host, excludedOps: excludedOps,
        subgroupSums: subgroupSums, choosesForCPU: choosesForCPU, faults: faults, tuning: tuning)
    } catch {
      throw .compileFailed(device: info.name, message: error.description)
    }
  }

  /// Every kind: buffer allocations, pipeline builds and submissions can be made to fail.
  public var injectableFaults: Set<FaultKind> { Set(FaultKind.allCases) }

  /// How many Vulkan objects (buffers, memory, pipelines, pools…) of this device are alive: a
  /// failed compile or run that destroyed everything it made leaves it where it was.
  var liveObjects: Int { context.liveObjects.load(ordering: .relaxed) }

  /// The compiled plan for `graph` on this device (what `tessera compile` shows).
  public func plan(_ graph: Graph) throws(DeviceError) -> CompiledPlan {
    do {
      return try GraphCompiler.compile(graph, target: capabilities, options: options)
    } catch {
      throw .compileFailed(device: info.name, message: error.description)
    }
  }

  /// Compiles `graph`: plan, SPIR-V and pipelines (through the on-disk pipeline cache); buffers
  /// and command buffers come with the first run. Runs time each dispatch
  /// (``CompiledGraph/profile(inputs:)``) where the compute queue writes timestamps.
  public func compile(_ graph: Graph) throws(DeviceError) -> CompiledGraph {
    let plan = try plan(graph)
    try info.checkMemory(for: plan)
    let backend = try VulkanPlanBackend(device: self, context: context, cache: cache)
    return CompiledGraph(graph: graph, deviceName: info.name, executable: try PlanRunner(plan: plan, backend: backend))
  }
}
