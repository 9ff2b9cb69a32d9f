import TesseraCompiler
import TesseraIR
import TesseraRuntime

/// Runs compiled plans on the Kernel IR interpreter: every pass, the fusion, the generated and
/// library kernels and the memory plan execute exactly as a backend would run them, with every
/// access checked. Slow, and meant to be: it is the compiler's oracle (`--device kir`).
public final class KIRDevice: Device {
  /// Always available.
  public let info = DeviceInfo(
    name: "kir", kind: .kir, summary: "Kernel IR interpreter (compiled plans, checked accesses)", driver: "built in",
    availability: .available)
  /// Host memory: buffers and device tensors are host bytes.
  public let store: any TensorStore = HostTensorStore(deviceName: "kir")
  private let options: CompileOptions
  private let capabilities: TargetCapabilities

  /// Creates the device; `library` supplies hand-written kernels (without one, composites are
  /// decomposed into core ops). `capabilities` (default: every op and dtype, nothing else) lets
  /// the interpreter run the kernels a GPU target would get, such as in-place quantized matmuls
  /// with or without subgroup sums.
  public init(library: (any KernelLibrary)? = nil, capabilities: TargetCapabilities = .everything("kir")) {
    options = CompileOptions(
      passes: PassPipeline.standard(evaluator: ReferenceConstantEvaluator()), library: library, fallback: "kir")
    self.capabilities = capabilities
  }

  /// Compiles with the standard passes for a target that runs everything.
  public func compile(_ graph: Graph) throws(DeviceError) -> CompiledGraph {
    let plan: CompiledPlan
    do {
      plan = try GraphCompiler.compile(graph, target: capabilities, options: options)
    } catch {
      throw .compileFailed(device: info.name, message: error.description)
    }
    let runner = try PlanRunner(plan: plan, backend: InterpreterPlanBackend(store: store))
    return CompiledGraph(graph: graph, deviceName: info.name, executable: runner)
  }
}

/// Runs kernel launches on the KIR interpreter: the host fallback until the CPU backend's own
/// kernels exist.
public struct InterpreterKernelRunner: HostKernelRunner {
  /// Creates the runner.
  public init() {}

  /// Interprets `call`; a fault names the kernel.
  public func run(_ call: KernelCall, buffers: [Tensor]) throws(DeviceError) -> [Tensor] {
    do {
      return try KIRInterpreter.run(call.kernel, buffers: buffers, scalars: call.scalars)
    } catch {
      throw .kernelFailed(kernel: call.kernel.name, message: error.description)
    }
  }
}

/// Runs every step of a plan on the KIR interpreter, its buffers where the memory plan put them
/// (one arena of host bytes, the weights, the inputs), so a wrong liveness or offset shows up as
/// a wrong result.
final class InterpreterPlanBackend: PlanBackend {
  /// A step's launch with the type and location of each of its buffers.
  private struct Launch: Sendable {
    var call: KernelCall
    var types: [TensorType]
    var locations: [ValueLocation]
  }

  let store: any TensorStore

  init(store: any TensorStore) { self.store = store }

  /// Nothing is injected.
  var faults: FaultInjection { FaultInjection() }
  /// Every step runs here.
  var hostRunner: (any HostKernelRunner)? { nil }
  /// The interpreter measures nothing.
  var timesKernels: Bool { false }

  /// Every launch runs on the interpreter.
  func prepare(_ plan: CompiledPlan) throws(DeviceError) -> [StepPreparation] {
    plan.steps.map { $0.call.map { .device($0) } ?? .skip }
  }

  /// The launches with their buffers' types and locations.
  func encode(_ steps: [PreparedStep], plan: CompiledPlan, locate: (ValueID) -> ValueLocation) throws(DeviceError)
    -> any Sendable
  {
    steps.map {
      Launch(call: $0.call, types: $0.call.buffers.map(plan.graph.type(of:)), locations: $0.call.buffers.map(locate))
    }
  }

  /// Interprets each launch: reads its buffers (a buffer read interleaved: a copy of its value
  /// with rows interleaved, ``KRowInterleave``), runs, writes back the written ones.
  func submit(_ encoded: any Sendable, profile: Bool) throws(DeviceError) -> [KernelTiming] {
    for launch in encoded as! [Launch] {
      let buffers = zip(launch.call.kernel.buffers, zip(launch.types, launch.locations)).map { parameter, typed in
        let (type, location) = typed
        let bytes = (location.memory as! HostMemory).read(at: location.offset, count: location.size)
        guard let interleave = parameter.interleave else { return Tensor(type: type, bytes: bytes)! }
        return bytes.withUnsafeBytes { interleave.interleaved($0, dtype: type.dtype) }
      }
      let outputs = try InterpreterKernelRunner().run(launch.call, buffers: buffers)
      for (position, parameter) in launch.call.kernel.buffers.enumerated() where parameter.access != .read {
        let location = launch.locations[position]
        outputs[position].withUnsafeBytes { (location.memory as! HostMemory).write($0, at: location.offset) }
      }
    }
    return []
  }
}

extension KIRDevice {
  /// The `kir` target of `tessera compile`: every op; no artifacts beyond the common ones.
  public static let compileTarget = CompileTarget(capabilities: .everything("kir"))
}

/// Lists the `kir` device.
public struct KIRProvider: DeviceProvider {
  /// Every device it lists is `kir`.
  public var kind: DeviceKind? { .kir }
  private let library: (any KernelLibrary)?
  /// Creates the provider; the device will use `library`.
  public init(library: (any KernelLibrary)? = nil) { self.library = library }
  /// One entry: `kir`, always available.
  public func discover() -> [DeviceEntry] { [DeviceEntry(device: KIRDevice(library: library))] }
}
