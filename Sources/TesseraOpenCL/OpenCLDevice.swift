import TesseraCompiler
import TesseraIR
import TesseraRuntime

/// One OpenCL device as a Tessera target: a context and an in-order profiling queue, graphs
/// compiled into one OpenCL C program per distinct kernel (built once and cached) and run by
/// ``PlanRunner`` (plan steps that fall back to the host run through the injected
/// ``HostKernelRunner``). The device is its own ``TensorStore``: device tensors are its buffers.
public final class OpenCLDevice: TunableDevice {
  /// Name (`opencl:N`), driver and availability.
  public let info: DeviceInfo
  /// The device itself: its buffers hold device tensors.
  public var store: any TensorStore { self }
  /// What the driver reports about the device.
  public let properties: OpenCLDeviceProperties
  /// What the code generator uses on this device.
  public let codegenOptions: OpenCLCodegenOptions
  /// The ops and dtypes it runs (the rest goes to the compile options' fallback), with the
  /// launch shapes of its tuning file (``TunableDevice``).
  public let capabilities: TargetCapabilities
  /// Why the tuning file was not used; `nil` when it was, or there was none.
  public let tuningProblem: TuningFileError?
  let api: OpenCLAPI
  let device: OpenCLDeviceID
  let context: OpenCLHandle
  let queue: OpenCLHandle
  let options: CompileOptions
  let hostRunner: (any HostKernelRunner)?
  let programs: OpenCLProgramCache
  /// The faults this device injects: `alloc` at `clCreateBuffer`, `build` at the program build,
  /// `timeout` at a run's submission.
  let faults: FaultInjection
  /// What the device's buffers hold: ``TensorStore/allocatedBytes``.
  let allocations = AllocationCounter()

  /// Opens `device` (from discovery). `capabilities` defaults to every op and dtype, with the
  /// tuning in the device's ``TuningFile``;
  /// `cacheDirectory` defaults to ``OpenCLProgramCache/defaultDirectory`` (`nil` there means
  /// memory only); `codegenOptions` defaults to what the device supports.
  init(
    name: String, api: OpenCLAPI, device: OpaquePointer?, properties: OpenCLDeviceProperties, options: CompileOptions,
    hostRunner: (any HostKernelRunner)?, capabilities: TargetCapabilities? = nil,
    codegenOptions: OpenCLCodegenOptions? = nil, cacheDirectory: String?? = .none,
    faults: FaultInjection = FaultInjection()
  ) throws(OpenCLError) {
    guard let device else { throw .call(function: "clGetDeviceIDs", code: -33) }
    self.api = api
    self.device = OpenCLDeviceID(raw: device)
    self.properties = properties
    self.options = options
    self.hostRunner = hostRunner
    self.faults = faults
    let tuningKey = Self.tuningKey(properties)
    if let capabilities {
      self.capabilities = capabilities
      tuningProblem = nil
    } else {
      var everything = TargetCapabilities.gpu("opencl")
      everything.streamsQuantizedRows = properties.isCPU
      everything.reductionLanes = properties.isCPU ? 4 : nil
      everything.interleavedWeightRows = properties.isCPU ? 4 : nil
      everything.mergesIndependentLaunches = properties.isCPU
      everything.maxKernelBuffers = properties.maxKernelBuffers
      // A CPU driver (PoCL) keeps RMS norms apart from the products (the streamed loops would
      // multiply and square x for every output: SmolLM2 decode 94–103 tok/s with them against
      // 116–125 without). Attention in one kernel, gate and up paired and the cache writes
      // computing their rows each cost PoCL a little kernel time but save a launch and its gap
      // (2–3 µs each): 515 → 335 kernels a step, 95–116 → 116–125 tok/s (docs/gpu-fused-decode.md).
      everything.fusesNormsIntoProducts = !properties.isCPU
      (everything.tuning, tuningProblem) = Self.storedTuning(
        kind: .opencl, deviceKey: tuningKey, subgroupSize: everything.subgroupSize,
        maxWorkgroupSize: properties.maxWorkgroupSize)
      // CPU drivers keep large products on the register-blocked kernel (docs/opencl-gemm.md).
      if properties.isCPU { everything.stagedMatmul = nil }
      everything.fitStagedMatmul(
        maxWorkgroupSize: properties.maxWorkgroupSize, maxSharedBytes: properties.localMemoryBytes)
      self.capabilities = everything
    }
    self.codegenOptions = codegenOptions ?? OpenCLCodegenOptions(nativeHalf: properties.fp16)
    var status: Int32 = 0
    var handle: OpaquePointer? = device
    guard let context = api.createContext(nil, 1, &handle, nil, nil, &status), status == 0 else {
      throw .call(function: "clCreateContext", code: status)
    }
    self.context = OpenCLHandle(context, api: api, release: \.releaseContext)
    guard let queue = api.createCommandQueue(context, device, CL.queueProfilingEnable, &status), status == 0 else {
      throw .call(function: "clCreateCommandQueue", code: status)
    }
    self.queue = OpenCLHandle(queue, api: api, release: \.releaseCommandQueue)
    programs = OpenCLProgramCache(
      api: api, context: self.context, device: self.device,
      deviceKey: tuningKey,
      directory: cacheDirectory ?? OpenCLProgramCache.defaultDirectory, faults: faults, deviceName: name)
    info = DeviceInfo(
      name: name, kind: .opencl, summary: properties.summary,
      driver: properties.platform + ", driver " + properties.driverVersion
        + TuningFile.note(self.capabilities.tuning, problem: tuningProblem),
      memoryBytes: properties.globalMemoryBytes, availability: .available)
  }

  /// A copy of this device with other settings: a different capability set (steps outside it
  /// run on the host runner), code generator options, program cache folder (`nil`: memory
  /// only) or injected faults. Shares nothing mutable with the original but the driver.
  public func configured(
    capabilities: TargetCapabilities? = nil, codegenOptions: OpenCLCodegenOptions? = nil,
    cacheDirectory: String?? = .none, options: CompileOptions? = nil, faults: FaultInjection? = nil
  ) throws(OpenCLError) -> OpenCLDevice {
    try OpenCLDevice(
      name: info.name, api: api, device: device.raw, properties: properties, options: options ?? self.options,
      hostRunner: hostRunner, capabilities: capabilities ?? self.capabilities,
      codegenOptions: codegenOptions ?? self.codegenOptions,
      cacheDirectory: cacheDirectory ?? programs.directory, faults: faults ?? self.faults)
  }

  /// The device's name and vendor, its driver version and platform: keys its tuning and its
  /// programs in the cache.
  public var tuningKey: String { Self.tuningKey(properties) }

  private static func tuningKey(_ properties: OpenCLDeviceProperties) -> String {
    "\(properties.name)|\(properties.vendor)|\(properties.driverVersion)|\(properties.platform)"
  }

  /// The most work-items a workgroup may have (`CL_DEVICE_MAX_WORK_GROUP_SIZE`).
  public var maxWorkgroupSize: Int { properties.maxWorkgroupSize }
  /// The local memory of one workgroup (`CL_DEVICE_LOCAL_MEM_SIZE`).
  public var maxSharedMemoryBytes: Int { properties.localMemoryBytes }

  /// A copy that compiles with `tuning` (``configured(capabilities:codegenOptions:cacheDirectory:options:faults:)``).
  public func tuned(_ tuning: KernelTuning) throws(DeviceError) -> any TunableDevice {
    var capabilities = self.capabilities
    capabilities.tuning = tuning
    capabilities.fitStagedMatmul(maxWorkgroupSize: maxWorkgroupSize, maxSharedBytes: maxSharedMemoryBytes)
    do {
      return try configured(capabilities: capabilities)
    } catch {
      throw .compileFailed(device: info.name, message: error.description)
    }
  }

  /// Every kind: allocations, program builds and submissions can be made to fail.
  public var injectableFaults: Set<FaultKind> { Set(FaultKind.allCases) }

  /// How often programs were built from source, loaded from disk or found in memory.
  public var cacheStatistics: OpenCLCacheStatistics { programs.statistics }

  /// How many OpenCL objects made through this device's loader are alive (contexts, queues,
  /// cached programs, kernels, buffers, events): a failed compile or run that released
  /// everything it made leaves it where it was.
  var liveHandles: Int { api.liveHandles.load(ordering: .relaxed) }

  /// The plan this device would run for `graph`.
  public func plan(_ graph: Graph) throws(DeviceError) -> CompiledPlan {
    do {
      return try GraphCompiler.compile(graph, target: capabilities, options: options)
    } catch {
      throw .compileFailed(device: info.name, message: error.description)
    }
  }

  /// The OpenCL C program for the kernels of `plan` that run on this device.
  public func source(for plan: CompiledPlan) -> String {
    OpenCLCodegen.program(deviceKernels(plan), options: codegenOptions)
  }

  /// Compiles `graph`: the plan, its distinct kernel bodies (``programs(for:owner:)``: taken from
  /// the cache, the missing ones built as one program) and the kernel objects, run by a ``PlanRunner`` (buffers
  /// allocated and constants uploaded at the first run).
  public func compile(_ graph: Graph) throws(DeviceError) -> CompiledGraph {
    let plan = try plan(graph)
    try info.checkMemory(for: plan)
    for kernel in deviceKernels(plan) where kernel.workgroupSize.reduce(1, *) > properties.maxWorkgroupSize {
      throw .kernelFailed(
        kernel: kernel.name,
        message: OpenCLError.workgroupTooLarge(
          kernel: kernel.name, size: kernel.workgroupSize.reduce(1, *), limit: properties.maxWorkgroupSize
        ).description)
    }
    let programs: [Kernel: OpenCLEntry]
    do {
      programs = try self.programs(for: deviceKernels(plan), owner: "the program for @\(graph.name)")
    } catch {
      throw .compileFailed(device: info.name, message: error.description)
    }
    let runner = try PlanRunner(plan: plan, backend: OpenCLPlanBackend(device: self, programs: programs))
    return CompiledGraph(graph: graph, deviceName: info.name, executable: runner)
  }

  private func deviceKernels(_ plan: CompiledPlan) -> [Kernel] {
    plan.steps.filter { $0.device == capabilities.name }.compactMap { $0.call?.kernel }
  }
}
