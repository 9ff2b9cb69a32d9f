import TesseraIR

/// A graph compiled for one device, ready to run any number of times.
///
/// Inputs are checked here, the same way for every device: count, names, dtypes and shapes.
public final class CompiledGraph: Sendable {
  /// The graph as given to the device.
  public let graph: Graph
  /// The device it runs on.
  public let deviceName: String
  private let executable: any GraphExecutable

  /// Wraps a device's executable; called by ``Device`` implementations.
  public init(graph: Graph, deviceName: String, executable: any GraphExecutable) {
    self.graph = graph
    self.deviceName = deviceName
    self.executable = executable
  }

  /// Runs with inputs in argument order; returns the results in return order.
  public func run(inputs: [Tensor]) throws(DeviceError) -> [Tensor] {
    guard inputs.count == graph.arguments.count else {
      throw .inputCount(expected: graph.arguments.count, found: inputs.count)
    }
    for (argument, input) in zip(graph.arguments, inputs) {
      try check(input, for: argument)
    }
    return try executable.execute(inputs)
  }

  /// Runs with inputs given by argument name (without `%`).
  public func run(inputs named: [String: Tensor]) throws(DeviceError) -> [Tensor] {
    try run(inputs: try ordered(named))
  }

  /// Runs once with inputs given by argument name and returns each kernel's device time, or
  /// `nil` when this device does not measure them.
  public func profile(inputs named: [String: Tensor]) throws(DeviceError) -> [KernelTiming]? {
    try profile(inputs: try ordered(named))
  }

  /// Runs once with inputs in argument order and returns each kernel's device time, or `nil`
  /// when this device does not measure them.
  public func profile(inputs: [Tensor]) throws(DeviceError) -> [KernelTiming]? {
    guard let profiling = executable as? any ProfilingExecutable else { return nil }
    guard inputs.count == graph.arguments.count else {
      throw .inputCount(expected: graph.arguments.count, found: inputs.count)
    }
    for (argument, input) in zip(graph.arguments, inputs) {
      try check(input, for: argument)
    }
    return try profiling.executeProfiled(inputs).kernels
  }

  private func ordered(_ named: [String: Tensor]) throws(DeviceError) -> [Tensor] {
    let expected = graph.arguments.map { graph[$0].name }
    if let extra = named.keys.sorted().first(where: { !expected.contains($0) }) {
      throw .unexpectedInput(name: extra, expected: expected)
    }
    var ordered: [Tensor] = []
    for name in expected {
      guard let tensor = named[name] else { throw .missingInput(name: name) }
      ordered.append(tensor)
    }
    return ordered
  }

  private func check(_ input: Tensor, for argument: ValueID) throws(DeviceError) {
    let expected = graph.type(of: argument)
    guard input.type == expected else {
      throw .inputType(name: graph[argument].name, expected: expected, found: input.type)
    }
  }
}
