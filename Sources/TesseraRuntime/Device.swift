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

  /// Where the device keeps tensors: ``upload(_:name:)``, ``allocate(_:name:)`` and every
  /// compiled graph's buffers go through it.
  var store: any TensorStore { get }

  /// Prepares `graph` for repeated runs on this device. The graph must already be verified.
  func compile(_ graph: Graph) throws(DeviceError) -> CompiledGraph

  /// The kinds of fault this device can inject (see ``FaultInjection``); none by default.
  var injectableFaults: Set<FaultKind> { get }
}

extension Device {
  /// No injection points: the device injects no fault.
  public var injectableFaults: Set<FaultKind> { [] }

  /// A copy of `tensor` on this device (for a quantized weight on `cpu`, with its tiles made
  /// when a matmul first reads them).
  public func upload(_ tensor: Tensor, name: String = "tensor") throws(DeviceError) -> DeviceTensor {
    DeviceTensor(type: tensor.type, memory: try store.upload(tensor, name: name), store: store)
  }

  /// A zero-filled tensor of `type` on this device.
  public func allocate(_ type: TensorType, name: String = "tensor") throws(DeviceError) -> DeviceTensor {
    let memory = try store.allocate(bytes: type.storageBytes ?? 0, name: name)
    let tensor = DeviceTensor(type: type, memory: memory, store: store)
    try tensor.write(Tensor(type: type, bytes: [UInt8](repeating: 0, count: type.storageBytes ?? 0))!)
    return tensor
  }

  /// Compiles `graph` with the arguments named in `parameters` bound to its tensors: runs take
  /// only the other arguments, and the parameters stay where they are, shared by every graph
  /// compiled with the same set.
  public func compile(_ graph: Graph, parameters: ParameterSet) throws(DeviceError) -> CompiledGraph {
    try compile(graph).binding(parameters)
  }
}

/// The device time of one kernel launch in a profiled run.
public struct KernelTiming: Hashable, Sendable {
  /// The kernel's name.
  public var kernel: String
  /// Seconds the device spent on it (command start to end).
  public var seconds: Double
  /// Seconds from the start of its submission's first launch to its own start, where the device
  /// says (OpenCL events, Vulkan timestamps, the `cpu` timers); `nil` when launches are only
  /// known to run one after another.
  public var start: Double?

  /// Creates a timing.
  public init(kernel: String, seconds: Double, start: Double? = nil) {
    self.kernel = kernel
    self.seconds = seconds
    self.start = start
  }
}
