import CVulkan
import TesseraCompiler
import TesseraIR
import TesseraRuntime

/// One Vulkan physical device as a Tessera target: graphs compile through the graph compiler,
/// kernels through ``SPIRVCodegen`` into compute pipelines, and runs are prerecorded command
/// buffers (see ``VulkanExecutable``).
public final class VulkanDevice: Device {
  /// Name (`vulkan:N`), driver and memory.
  public let info: DeviceInfo
  /// What the device computes: every op not excluded by its provider; i64 only with `shaderInt64`.
  public let capabilities: TargetCapabilities
  private let context: VulkanContext
  private let cache: VulkanPipelineCache
  private let options: CompileOptions
  private let host: (any HostKernelRunner)?
  private let faults: FaultInjection

  init(
    info: DeviceInfo, context: VulkanContext, options: CompileOptions, host: (any HostKernelRunner)?,
    excludedOps: Set<OpKind>, faults: FaultInjection
  ) throws(VulkanError) {
    self.info = info
    self.context = context
    self.options = options
    self.host = host
    self.faults = faults
    cache = try VulkanPipelineCache(context)
    var capabilities = TargetCapabilities.everything("vulkan")
    if !context.supportsInt64 { capabilities.dtypes.remove(.i64) }
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

  /// Compiles `graph`: plan, SPIR-V, pipelines (through the on-disk pipeline cache), buffers and
  /// command buffers; the result profiles (``CompiledGraph/profile(inputs:)``) where the compute
  /// queue writes timestamps.
  public func compile(_ graph: Graph) throws(DeviceError) -> CompiledGraph {
    let plan = try plan(graph)
    try info.checkMemory(for: plan)
    do {
      let executable = try VulkanExecutable(
        plan: plan, context: context, cache: cache, host: host, deviceName: info.name, faults: faults)
      cache.save()
      let runnable: any GraphExecutable =
        executable.timedKernels == nil ? executable : VulkanProfilingExecutable(executable: executable)
      return CompiledGraph(graph: graph, deviceName: info.name, executable: runnable)
    } catch {
      if case .buffer(let buffer, let bytes, let cause) = error {
        throw .allocationFailed(device: info.name, buffer: buffer, bytes: bytes, message: cause.description)
      }
      throw .compileFailed(device: info.name, message: error.description)
    }
  }
}
