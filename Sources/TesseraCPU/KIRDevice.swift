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
  private let options: CompileOptions
  private let capabilities: TargetCapabilities

  /// Creates the device; `library` supplies hand-written kernels (without one, composites are
  /// decomposed into core ops).
  public init(library: (any KernelLibrary)? = nil) {
    options = CompileOptions(
      passes: PassPipeline.standard(evaluator: ReferenceConstantEvaluator()), library: library, fallback: "kir")
    capabilities = TargetCapabilities.everything("kir")
  }

  /// Compiles with the standard passes for a target that runs everything.
  public func compile(_ graph: Graph) throws(DeviceError) -> CompiledGraph {
    let plan: CompiledPlan
    do {
      plan = try GraphCompiler.compile(graph, target: capabilities, options: options)
    } catch {
      throw .compileFailed(device: info.name, message: error.description)
    }
    return CompiledGraph(graph: graph, deviceName: info.name, executable: PlanInterpreter(plan: plan))
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

/// Executes a plan step by step: buffers live where the memory plan put them (one arena of
/// bytes, the weights, the inputs), so a wrong liveness or offset shows up as a wrong result.
struct PlanInterpreter: GraphExecutable {
  let plan: CompiledPlan

  func execute(_ inputs: [Tensor]) throws(DeviceError) -> [Tensor] {
    let graph = plan.graph
    var arena = [UInt8](repeating: 0, count: plan.memory.arenaBytes)
    var fixed: [ValueID: Tensor] = Dictionary(uniqueKeysWithValues: zip(graph.arguments, inputs))
    for step in plan.steps where step.group.kind == .constant {
      fixed[step.group.root] = graph.nodes[step.group.nodes[0]].literal
    }
    func read(_ value: ValueID) -> Tensor {
      let type = graph.type(of: value)
      let storage = plan.memory.storage(of: value)
      if let tensor = fixed[storage] { return Tensor(type: type, bytes: tensor.bytes)! }
      guard case .arena(let offset)? = plan.memory.homes[storage] else { preconditionFailure("no home for \(value)") }
      return Tensor(type: type, bytes: Array(arena[offset..<(offset + type.storageBytes!)]))!
    }
    for step in plan.steps {
      guard let call = step.call else { continue }
      let buffers = call.buffers.map(read)
      let outputs = try InterpreterKernelRunner().run(call, buffers: buffers)
      for (position, parameter) in call.kernel.buffers.enumerated() where parameter.access != .read {
        let value = call.buffers[position]
        guard case .arena(let offset)? = plan.memory.homes[plan.memory.storage(of: value)] else { continue }
        let bytes = outputs[position].bytes
        arena.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
      }
    }
    return graph.results.map(read)
  }
}

/// Lists the `kir` device.
public struct KIRProvider: DeviceProvider {
  private let library: (any KernelLibrary)?
  /// Creates the provider; the device will use `library`.
  public init(library: (any KernelLibrary)? = nil) { self.library = library }
  /// One entry: `kir`, always available.
  public func discover() -> [DeviceEntry] { [DeviceEntry(device: KIRDevice(library: library))] }
}
