import TesseraIR

/// The families of targets Tessera can run on.
public enum DeviceKind: String, CaseIterable, Sendable, Hashable {
  /// The reference evaluator: plain Swift, the oracle every other target is compared with.
  case reference
  /// Compiled plans (fusion, memory plan, kernels) executed by the Kernel IR interpreter: the
  /// second oracle, which checks the compiler end to end.
  case kir
  /// Native SIMD kernels on the host CPU.
  case cpu
  /// Any OpenCL 1.2+ device through the ICD loader.
  case opencl
  /// Any Vulkan 1.1+ device through the Vulkan loader.
  case vulkan
  /// The emulated NPU with its cycle model.
  case npu
}

/// Whether a device can be used, and if not, why.
public enum Availability: Hashable, Sendable {
  /// Ready to compile and run graphs.
  case available
  /// Listed but unusable; the reason says what is missing (no ICD, no loader, init failed…).
  case unavailable(reason: String)

  /// True when ``available``.
  public var isAvailable: Bool { self == .available }
}

/// What `tessera devices` shows about one device.
public struct DeviceInfo: Hashable, Sendable {
  /// The name used on the command line: `reference`, `cpu`, `opencl:0`, `vulkan:1`, `npu`.
  public var name: String
  /// The target family.
  public var kind: DeviceKind
  /// The hardware or implementation, e.g. "pthread-llvmpipe" or "reference evaluator (plain Swift)".
  public var summary: String
  /// The driver and its version, e.g. "PoCL 3.1"; "built in" for Tessera's own targets.
  public var driver: String
  /// Memory the device offers, when known.
  public var memoryBytes: Int?
  /// Usable, or why not.
  public var availability: Availability

  /// Creates a description.
  public init(
    name: String, kind: DeviceKind, summary: String, driver: String, memoryBytes: Int? = nil,
    availability: Availability
  ) {
    self.name = name
    self.kind = kind
    self.summary = summary
    self.driver = driver
    self.memoryBytes = memoryBytes
    self.availability = availability
  }
}

/// A target that compiles graphs into something it can run.
///
/// Backends implement this; nothing outside a backend asks which backend it is talking to.
public protocol Device: AnyObject, Sendable {
  /// Name, kind, driver and availability.
  var info: DeviceInfo { get }

  /// Prepares `graph` for repeated runs on this device. The graph must already be verified.
  func compile(_ graph: Graph) throws(DeviceError) -> CompiledGraph

  /// The kinds of fault this device can inject (see ``FaultInjection``); none by default.
  var injectableFaults: Set<FaultKind> { get }
}

extension Device {
  /// No injection points: the device injects no fault.
  public var injectableFaults: Set<FaultKind> { [] }
}

/// A device's compiled form of one graph; ``CompiledGraph`` validates inputs before calling it.
public protocol GraphExecutable: Sendable {
  /// Runs once on inputs whose types already match the graph's arguments, in argument order.
  func execute(_ inputs: [Tensor]) throws(DeviceError) -> [Tensor]
}

/// The device time of one kernel launch in a profiled run.
public struct KernelTiming: Hashable, Sendable {
  /// The kernel's name.
  public var kernel: String
  /// Seconds the device spent on it (command start to end).
  public var seconds: Double

  /// Creates a timing.
  public init(kernel: String, seconds: Double) {
    self.kernel = kernel
    self.seconds = seconds
  }
}

/// An executable that can time each kernel of a run (OpenCL events, Vulkan timestamps…);
/// `tessera run --profile` prints what it measures.
public protocol ProfilingExecutable: GraphExecutable {
  /// Runs once like ``GraphExecutable/execute(_:)`` and returns each launch's device time in order.
  func executeProfiled(_ inputs: [Tensor]) throws(DeviceError) -> (results: [Tensor], kernels: [KernelTiming])
}
