import TesseraCompiler
import TesseraIR
import TesseraRuntime

/// The emulated NPU as a Tessera device (`npu`): graphs compile to plans for the npu's
/// capabilities, run by a ``PlanRunner`` over the device's ``NPUGlobalMemory`` (weights, caches and
/// arenas resident there), each npu step as an NPU program on the emulator with its cycle model
/// and every other step on the injected host runner.
public final class NPUDevice: Device {
  /// Always available: it is an emulator.
  public let info: DeviceInfo
  /// Buffer sizes and cycle costs.
  public let config: NPUConfig
  /// The device's global memory: every device tensor and buffer of the npu is a range of it.
  public let global: NPUGlobalMemory
  /// The results of weight-only steps, computed once and shared by every graph compiled here.
  public let derivedValues = DeviceMemoryCache()
  private let options: CompileOptions
  private let host: any HostKernelRunner
  /// The cycle reports of every program its graphs ran since the last ``takeCycleReport()``.
  private let cycles: Locked<CycleReport>?
  /// Whether a segment of npu steps runs as one linked program or one program per step.
  public let granularity: NPUProgramGranularity

  /// Creates the device. `options` supplies the passes and the fallback device name; its kernel
  /// library is not used (the npu runs decomposed composites). `host` runs fallback steps. With
  /// `recordsCycles`, the cycle model's counts of every program its compiled graphs run are
  /// summed for ``takeCycleReport()`` (the modelled cost of a model's prefill or decode step).
  /// `granularity` chooses linked whole-segment programs (the default) or one program per step.
  public init(
    config: NPUConfig = NPUConfig(), options: CompileOptions, host: any HostKernelRunner, recordsCycles: Bool = false,
    granularity: NPUProgramGranularity = .linked
  ) {
    self.granularity = granularity
    info = DeviceInfo(
      name: "npu", kind: .npu, summary: "emulated Ascend-class NPU (16x16x16 fp16 cube, vector unit, cycle model)",
      driver: "built in", memoryBytes: config.globalMemoryBytes, availability: .available)
    self.config = config
    global = NPUGlobalMemory(deviceName: "npu", capacity: config.globalMemoryBytes)
    var options = options
    options.library = nil
    self.options = options
    self.host = host
    cycles = recordsCycles ? Locked(CycleReport(config: config)) : nil
  }

  /// What the programs of this device's graphs counted since the last call (their reports one
  /// after the other, without unit traces), and a fresh start; `nil` unless the device records
  /// cycles.
  public func takeCycleReport() -> CycleReport? {
    cycles?.withLock { report in
      defer { report = CycleReport(config: config) }
      return report
    }
  }

  /// Global memory.
  public var store: any TensorStore { global }

  /// Compiles `graph` to a plan run on the emulator (its arena taken from global memory now);
  /// `outOfMemory` when the plan needs more than global memory holds.
  public func compile(_ graph: Graph) throws(DeviceError) -> CompiledGraph {
    let plan = try plan(graph)
    try info.checkMemory(for: plan)
    let backend = NPUPlanBackend(
      global: global, config: config, host: host, derivedValues: derivedValues, recorder: cycles,
      granularity: granularity)
    return CompiledGraph(graph: graph, deviceName: info.name, executable: try PlanRunner(plan: plan, backend: backend))
  }

  /// The plan `graph` compiles to for the npu's capabilities.
  public func plan(_ graph: Graph) throws(DeviceError) -> CompiledPlan {
    do {
      return try GraphCompiler.compile(graph, target: Self.capabilities, options: options)
    } catch {
      throw .compileFailed(device: info.name, message: error.description)
    }
  }

  /// `graph`'s plan with the NPU program of each step that has one (for inspection and the
  /// cycle-model benchmarks).
  public func programs(_ graph: Graph) throws(DeviceError) -> NPUProgramSet {
    NPUProgramSet(plan: try plan(graph), config: config)
  }
}

/// The cycle model's report and the units' trace for `tessera run --profile` and `--trace`.
extension NPUDevice: DetailedProfiling {
  /// Runs once with the cycle model's report; names the steps that ran on the host.
  public func detailedProfile(of graph: Graph, inputs: [Tensor], trace: Bool) throws(DeviceError) -> (
    report: String, chromeTrace: String?
  ) {
    let backend = NPUPlanBackend(
      global: global, config: config, host: host, derivedValues: nil, recorder: Locked(CycleReport(config: config)),
      trace: trace, granularity: granularity)
    _ = try PlanRunner(plan: try plan(graph), backend: backend).execute(inputs.map { .host($0) }, profile: false)
    let report = backend.recorder!.withLock { $0 }
    let hostSteps = backend.hostSteps.sorted { $0.key < $1.key }.map { "step \($0.key) ran on the host: \($0.value)\n" }
    return (report.summary + hostSteps.joined(), trace ? report.chromeTrace : nil)
  }
}

/// Lists the `npu` device.
public struct NPUProvider: DeviceProvider {
  /// Every device it lists is `npu`.
  public var kind: DeviceKind? { .npu }
  private let device: NPUDevice
  /// Creates the provider of a device built from `options` and `host`.
  public init(config: NPUConfig = NPUConfig(), options: CompileOptions, host: any HostKernelRunner) {
    device = NPUDevice(config: config, options: options, host: host)
  }
  /// One entry: `npu`, always available.
  public func discover() -> [DeviceEntry] { [DeviceEntry(device: device)] }
}
