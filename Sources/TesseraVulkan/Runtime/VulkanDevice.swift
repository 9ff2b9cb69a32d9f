import CVulkan
import TesseraCompiler
import TesseraIR
import TesseraRuntime

/// One Vulkan physical device as a Tessera target: graphs compile through the graph compiler,
/// kernels through ``SPIRVCodegen`` into compute pipelines, and runs are prerecorded command
/// buffers submitted by ``PlanRunner`` (see ``VulkanPlanBackend``). The device is its own
/// ``TensorStore``: device tensors are its buffers.
public final class VulkanDevice: Device {
  /// Name (`vulkan:N`), driver and memory.
  public let info: DeviceInfo
  /// What the device computes: every op not excluded by its provider; i64 only with `shaderInt64`;
  /// subgroup sums where compute shaders have subgroup arithmetic, unless the provider turned
  /// them off.
  public let capabilities: TargetCapabilities
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

  init(
    info: DeviceInfo, context: VulkanContext, options: CompileOptions, host: (any HostKernelRunner)?,
    excludedOps: Set<OpKind>, subgroupSums: Bool, faults: FaultInjection
  ) throws(VulkanError) {
    self.info = info
    self.context = context
    self.options = options
    self.host = host
    self.faults = faults
    cache = try VulkanPipelineCache(context)
    transfers = try VulkanTransfers(context)
    var capabilities = TargetCapabilities.everything("vulkan", matmulsReadQuantizedWeights: true)
    if !context.supportsInt64 { capabilities.dtypes.remove(.i64) }
    if subgroupSums { capabilities.subgroupSize = context.computeSubgroupSize }
    capabilities.ops.subtract(excludedOps)
    self.capabilities = capabilities
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
