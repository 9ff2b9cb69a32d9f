import TesseraIR

/// A graph compiled for one device, ready to run any number of times.
///
/// Inputs are checked here, the same way for every device: count, names, dtypes and shapes, and
/// the start of every `update_slice` whose start is an argument given on the host (an
/// out-of-range start is an error before anything runs or is written). Arguments bound to a
/// ``ParameterSet`` (``binding(_:)``) are not given to a run.
public final class CompiledGraph: Sendable {
  /// The graph as given to the device.
  public let graph: Graph
  /// The device it runs on.
  public let deviceName: String
  /// Arguments bound to device tensors, by argument position.
  public let bound: [Int: DeviceTensor]
  private let executable: any GraphExecutable
  /// The `update_slice` nodes whose start is an argument (by index in the graph's nodes: a run
  /// copies no node), with that argument's position and the starts at which the node fits
  /// (``UpdateSlice/validStarts(of:in:)``).
  private let argumentStarts: [(node: Int, position: Int, valid: Range<Int>)]
  /// The arguments a run takes, in order: every argument not bound to a parameter.
  public let inputArguments: [ValueID]
  /// Every argument's value for a run, by position: its bound tensor, `nil` where the run gives
  /// it. Made once, so that a run looks nothing up.
  private let boundValues: [TensorValue?]

  /// Wraps a device's executable; called by ``Device`` implementations.
  public convenience init(graph: Graph, deviceName: String, executable: any GraphExecutable) {
    self.init(graph: graph, deviceName: deviceName, executable: executable, bound: [:])
  }

  private init(graph: Graph, deviceName: String, executable: any GraphExecutable, bound: [Int: DeviceTensor]) {
    self.graph = graph
    self.deviceName = deviceName
    self.executable = executable
    self.bound = bound
    inputArguments = graph.arguments.indices.filter { bound[$0] == nil }.map { graph.arguments[$0] }
    boundValues = graph.arguments.indices.map { bound[$0].map(TensorValue.device) }
    argumentStarts = graph.nodes.indices.compactMap { index in
      let node = graph.nodes[index]
      guard node.kind == .updateSlice, let position = graph.arguments.firstIndex(of: node.operands[2]) else {
        return nil
      }
      return (index, position, UpdateSlice.validStarts(of: node, in: graph))
    }
  }

  /// The same compiled graph with every argument named in `parameters` bound to its tensor
  /// (checked against the argument's type); runs then take only the other arguments.
  public func binding(_ parameters: ParameterSet) throws(DeviceError) -> CompiledGraph {
    var bound = self.bound
    for (position, argument) in graph.arguments.enumerated() {
      guard let tensor = parameters.tensors[graph[argument].name] else { continue }
      try check(tensor.type, for: argument)
      bound[position] = tensor
    }
    return CompiledGraph(graph: graph, deviceName: deviceName, executable: executable, bound: bound)
  }

  /// Runs with host inputs in ``inputArguments`` order; returns the results in return order as
  /// host tensors.
  public func run(inputs: [Tensor]) throws(DeviceError) -> [Tensor] {
    try execute(inputs.map { .host($0) }).results.map { value throws(DeviceError) in try value.hostTensor() }
  }

  /// Runs with host inputs given by argument name (without `%`).
  public func run(inputs named: [String: Tensor]) throws(DeviceError) -> [Tensor] {
    try run(inputs: try ordered(named))
  }

  /// Runs with inputs in ``inputArguments`` order, each on the host or on the device; returns
  /// the results (see ``GraphRun/results``).
  public func run(_ inputs: [TensorValue]) throws(DeviceError) -> [TensorValue] {
    try execute(inputs).results
  }

  /// Runs once with inputs in ``inputArguments`` order; `profile` times each kernel where the
  /// device can. Returns the results, the timings and the bytes moved.
  public func execute(_ inputs: [TensorValue], profile: Bool = false) throws(DeviceError) -> GraphRun {
    let arguments = inputArguments
    guard inputs.count == arguments.count else {
      throw .inputCount(expected: arguments.count, found: inputs.count)
    }
    var all: [TensorValue] = []
    all.reserveCapacity(boundValues.count)
    var given = zip(arguments, inputs).makeIterator()
    for value in boundValues {
      if let value {
        all.append(value)
      } else {
        let (argument, input) = given.next()!
        try check(input.type, for: argument)
        all.append(input)
      }
    }
    try checkUpdateStarts(all)
    return try executable.execute(all, profile: profile)
  }

  /// Runs once with inputs given by argument name and returns each kernel's device time, or
  /// `nil` when this device does not measure them.
  public func profile(inputs named: [String: Tensor]) throws(DeviceError) -> [KernelTiming]? {
    try profile(inputs: try ordered(named))
  }

  /// Runs once with host inputs in ``inputArguments`` order and returns each kernel's device
  /// time, or `nil` when this device does not measure them.
  public func profile(inputs: [Tensor]) throws(DeviceError) -> [KernelTiming]? {
    try execute(inputs.map { .host($0) }, profile: true).kernels
  }

  private func ordered(_ named: [String: Tensor]) throws(DeviceError) -> [Tensor] {
    let expected = inputArguments.map { graph[$0].name }
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

  private func check(_ type: TensorType, for argument: ValueID) throws(DeviceError) {
    let expected = graph.type(of: argument)
    guard type == expected else {
      throw .inputType(name: graph[argument].name, expected: expected, found: type)
    }
  }

  /// Fails when an `update_slice` whose start is an argument given on the host would write
  /// outside its base (kernels then write nothing, but the caller must hear of it).
  private func checkUpdateStarts(_ inputs: [TensorValue]) throws(DeviceError) {
    for (index, position, valid) in argumentStarts {
      guard case .host(let start) = inputs[position], start.shape.count == 1 else { continue }
      let first = Int(start.element(at: 0))
      guard !valid.contains(first) else { continue }
      let node = graph.nodes[index]
      if let problem = UpdateSlice.rangeProblem(node, in: graph, start: first) {
        throw .execution(op: .updateSlice, value: graph[node.result].name, message: problem)
      }
    }
  }
}

/// Named tensors on one device, bound to the same-named arguments of every graph compiled with
/// them (``Device/compile(_:parameters:)``): a model's weights, uploaded (and on `cpu`, tiled)
/// once and shared by its prefill and decode graphs.
public final class ParameterSet: Sendable {
  /// The tensors by argument name (without `%`).
  public let tensors: [String: DeviceTensor]

  /// Wraps tensors already on a device.
  public init(_ tensors: [String: DeviceTensor]) { self.tensors = tensors }

  /// Uploads each named tensor to `device`.
  public init(uploading named: [(name: String, tensor: Tensor)], to device: any Device) throws(DeviceError) {
    var tensors: [String: DeviceTensor] = [:]
    let progress = ProgressLine("uploading weights to \(device.info.name)", total: named.count)
    defer { progress.finish() }
    try TraceRecorder.span("upload weights", arguments: ["device": device.info.name]) { () throws(DeviceError) in
      for (name, tensor) in named {
        tensors[name] = try device.upload(tensor, name: "%" + name)
        progress.advance()
      }
    }
    self.tensors = tensors
  }

  /// Bytes of the tensors as their types count them.
  public var byteCount: Int { tensors.values.reduce(0) { $0 + $1.byteCount } }

  /// Bytes of device memory the tensors hold now, as the device's store counts them
  /// (``DeviceMemory/allocatedBytes``: the layout the device keeps them in, such as repacked
  /// tiles; nothing for tensors it reads in place from host memory).
  public var allocatedBytes: Int { tensors.values.reduce(0) { $0 + $1.memory.allocatedBytes } }

  /// Bytes (as their types count them) of the tensors the device reads in place from host
  /// memory, holding no memory of its own for them (``DeviceMemory/allocatedBytes`` of 0).
  public var readInPlaceBytes: Int {
    tensors.values.filter { $0.memory.allocatedBytes == 0 }.reduce(0) { $0 + $1.byteCount }
  }
}
