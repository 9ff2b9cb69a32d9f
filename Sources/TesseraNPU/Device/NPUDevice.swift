import TesseraCompiler
import TesseraIR
import TesseraRuntime

/// The emulated NPU as a Tessera device (`npu`): graphs compile to plans for the npu's
/// capabilities, each npu step to an NPU program run on the emulator with its cycle model, and
/// every other step on the injected host runner.
public final class NPUDevice: Device {
  /// Always available: it is an emulator.
  public let info = DeviceInfo(
    name: "npu", kind: .npu, summary: "emulated Ascend-class NPU (16x16x16 fp16 cube, vector unit, cycle model)",
    driver: "built in", availability: .available)
  /// Buffer sizes and cycle costs.
  public let config: NPUConfig
  /// Host memory: device tensors of the emulator are host bytes, copied into its global memory
  /// at each run.
  public let store: any TensorStore = HostTensorStore(deviceName: "npu")
  private let options: CompileOptions
  private let host: any HostKernelRunner

  /// Creates the device. `options` supplies the passes and the fallback device name; its kernel
  /// library is not used (the npu runs decomposed composites). `host` runs fallback steps.
  public init(config: NPUConfig = NPUConfig(), options: CompileOptions, host: any HostKernelRunner) {
    self.config = config
    var options = options
    options.library = nil
    self.options = options
    self.host = host
  }

  /// Compiles `graph` to a plan and NPU programs.
  public func compile(_ graph: Graph) throws(DeviceError) -> CompiledGraph {
    CompiledGraph(graph: graph, deviceName: info.name, executable: try executable(graph))
  }

  /// The compiled form with access to programs and cycle reports (`tessera run --profile`).
  public func executable(_ graph: Graph) throws(DeviceError) -> NPUExecutable {
    let plan: CompiledPlan
    do {
      plan = try GraphCompiler.compile(graph, target: Self.capabilities, options: options)
    } catch {
      throw .compileFailed(device: info.name, message: error.description)
    }
    return NPUExecutable(plan: plan, config: config, host: host)
  }
}

/// A plan with the NPU program of each npu step; steps without one run on the host.
public final class NPUExecutable: HostGraphExecutable {
  /// The compiled plan.
  public let plan: CompiledPlan
  /// The plan's graph.
  public var graph: Graph { plan.graph }
  /// Program of each step index that runs on the NPU.
  public let programs: [Int: [Instruction]]
  /// Why a step placed on the npu still runs on the host, by step index.
  public let hostSteps: [Int: String]
  private let layout: GlobalLayout
  private let config: NPUConfig
  private let host: any HostKernelRunner

  init(plan: CompiledPlan, config: NPUConfig, host: any HostKernelRunner) {
    self.plan = plan
    self.config = config
    self.host = host
    layout = GlobalLayout(plan: plan)
    var programs: [Int: [Instruction]] = [:]
    var hostSteps: [Int: String] = [:]
    for (index, step) in plan.steps.enumerated() where step.call != nil && step.device == plan.target.name {
      do {
        programs[index] = try NPULowering.program(for: step, in: plan, layout: layout, config: config)
      } catch {
        hostSteps[index] = error.description
      }
    }
    self.programs = programs
    self.hostSteps = hostSteps
  }

  /// Runs once; returns the results.
  public func execute(_ inputs: [Tensor]) throws(DeviceError) -> [Tensor] { try run(inputs).results }

  /// Runs once; returns the results and the cycle report of every NPU program in order.
  public func run(_ inputs: [Tensor], trace: Bool = false) throws(DeviceError) -> (
    results: [Tensor], report: CycleReport
  ) {
    let graph = plan.graph
    var memory = [UInt8](repeating: 0, count: layout.bytes)
    func write(_ value: ValueID, _ bytes: [UInt8]) {
      guard let address = layout.address(of: value) else { return }
      memory.replaceSubrange(address..<(address + bytes.count), with: bytes)
    }
    func read(_ value: ValueID) -> Tensor {
      let type = graph.type(of: value)
      let address = layout.address(of: value)!
      return Tensor(type: type, bytes: Array(memory[address..<(address + type.storageBytes!)]))!
    }
    for (argument, input) in zip(graph.arguments, inputs) { write(argument, input.bytes) }
    for step in plan.steps where step.group.kind == .constant {
      write(step.group.root, graph.nodes[step.group.nodes[0]].literal!.bytes)
    }
    var report = CycleReport(config: config)
    let emulator = Emulator(config: config)
    for (index, step) in plan.steps.enumerated() {
      guard let call = step.call else { continue }
      if let program = programs[index] {
        do {
          report = report.followed(by: try emulator.run(program, globalMemory: &memory, trace: trace))
        } catch {
          throw .kernelFailed(kernel: call.kernel.name, message: error.description)
        }
        continue
      }
      let outputs = try host.run(call, buffers: call.buffers.map(read))
      for (position, parameter) in call.kernel.buffers.enumerated() where parameter.access != .read {
        write(call.buffers[position], outputs[position].bytes)
      }
    }
    return (graph.results.map(read), report)
  }
}

/// The cycle model's report and the units' trace for `tessera run --profile` and `--trace`.
extension NPUDevice: DetailedProfiling {
  /// Runs once with the cycle model's report; names the steps that ran on the host.
  public func detailedProfile(of graph: Graph, inputs: [Tensor], trace: Bool) throws(DeviceError) -> (
    report: String, chromeTrace: String?
  ) {
    let executable = try executable(graph)
    let (_, report) = try executable.run(inputs, trace: trace)
    let hostSteps = executable.hostSteps.sorted { $0.key < $1.key }.map {
      "step \($0.key) ran on the host: \($0.value)\n"
    }
    return (report.summary + hostSteps.joined(), trace ? report.chromeTrace : nil)
  }
}

/// Lists the `npu` device.
public struct NPUProvider: DeviceProvider {
  private let device: NPUDevice
  /// Creates the provider of a device built from `options` and `host`.
  public init(config: NPUConfig = NPUConfig(), options: CompileOptions, host: any HostKernelRunner) {
    device = NPUDevice(config: config, options: options, host: host)
  }
  /// One entry: `npu`, always available.
  public func discover() -> [DeviceEntry] { [DeviceEntry(device: device)] }
}
