import TesseraIR

/// Every error a device, the registry or a compiled graph reports.
public enum DeviceError: Error, Hashable, Sendable, CustomStringConvertible {
  /// No device has this name; `known` lists the names that exist.
  case unknownDevice(name: String, known: [String])
  /// The device exists but cannot be used.
  case unavailable(name: String, reason: String)
  /// The graph has `expected` arguments but `found` inputs were given.
  case inputCount(expected: Int, found: Int)
  /// No input was given for argument `name`.
  case missingInput(name: String)
  /// An input names no argument of the graph.
  case unexpectedInput(name: String, expected: [String])
  /// An input's dtype or shape differs from its argument's type.
  case inputType(name: String, expected: TensorType, found: TensorType)
  /// The device cannot run this op (or dtype).
  case unsupported(device: String, op: OpKind, detail: String)
  /// The device could not compile the graph; `message` is the compiler's.
  case compileFailed(device: String, message: String)
  /// The graph's memory plan needs more than the device has; found before allocating anything.
  case outOfMemory(device: String, needed: Int, available: Int)
  /// A kernel failed to build or run; `message` has the driver's or interpreter's words.
  case kernelFailed(kernel: String, message: String)
  /// A run failed; `op` and `value` say where, `message` why (e.g. an index out of range).
  case execution(op: OpKind, value: String, message: String)
  /// The device could not allocate a buffer (`the arena`, `%x`) of `bytes` bytes; `message` has
  /// the driver's or allocator's words.
  case allocationFailed(device: String, buffer: String, bytes: Int, message: String)
  /// A submission of `kernels` did not complete; `reason` says why the run gave up on it.
  case timeout(device: String, kernels: [String], reason: String)
  /// A device tensor given for argument `name` lives on another device than the graph's.
  case wrongDevice(name: String, expected: String, found: String)
  /// An entry of a fault list (`TESSERA_FAULT`) is malformed or names what no device injects.
  case invalidFault(entry: String, problem: String)

  /// A message a person can act on.
  public var description: String {
    switch self {
    case .unknownDevice(let name, let known):
      "unknown device '\(name)' (known: \(known.joined(separator: ", ")))"
    case .unavailable(let name, let reason):
      "device '\(name)' is unavailable: \(reason)"
    case .inputCount(let expected, let found):
      "the graph takes \(expected) input\(expected == 1 ? "" : "s"), \(found) given"
    case .missingInput(let name):
      "no input given for argument %\(name)"
    case .unexpectedInput(let name, let expected):
      "input '\(name)' is not an argument of the graph (arguments: \(expected.map { "%" + $0 }.joined(separator: ", ")))"
    case .inputType(let name, let expected, let found):
      "input %\(name) should be \(expected), found \(found)"
    case .unsupported(let device, let op, let detail):
      "\(device) cannot run '\(op)': \(detail)"
    case .compileFailed(let device, let message):
      "\(device) could not compile the graph: \(message)"
    case .outOfMemory(let device, let needed, let available):
      "\(device) needs \(needed) bytes at the peak of a run (inputs, constants, arena) but has \(available)"
    case .kernelFailed(let kernel, let message):
      "kernel \(kernel) failed: \(message)"
    case .execution(let op, let value, let message):
      "'\(op)' defining %\(value) failed: \(message)"
    case .allocationFailed(let device, let buffer, let bytes, let message):
      "\(device) could not allocate \(buffer) (\(bytes) bytes): \(message)"
    case .timeout(let device, let kernels, let reason):
      "\(device): the submission of kernel\(kernels.count == 1 ? "" : "s") \(kernels.joined(separator: ", ")) did not complete: \(reason)"
    case .wrongDevice(let name, let expected, let found):
      "input %\(name) is a tensor on \(found); the graph runs on \(expected) (upload it there or read it back)"
    case .invalidFault(let entry, let problem):
      "\(FaultInjection.environmentVariable) entry '\(entry)': \(problem)"
    }
  }

  /// Whether the device itself failed (it is unavailable, cannot run an op, or could not
  /// compile, allocate, build, run or finish), so another device may succeed where it did not;
  /// false for mistakes in the request (an unknown device, wrong inputs, an invalid fault list)
  /// and for data a graph cannot run on (``execution(op:value:message:)``), which every device
  /// would reject.
  public var isDeviceFailure: Bool {
    switch self {
    case .unavailable, .unsupported, .compileFailed, .outOfMemory, .kernelFailed, .allocationFailed, .timeout: true
    case .unknownDevice, .inputCount, .missingInput, .unexpectedInput, .inputType, .execution, .invalidFault,
      .wrongDevice:
      false
    }
  }
}
