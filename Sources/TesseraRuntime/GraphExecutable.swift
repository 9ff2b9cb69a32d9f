import TesseraIR

/// What one run of a compiled graph produced and what it cost.
public struct GraphRun: Sendable {
  /// The results in return order: host tensors, or, for a result the run wrote in place over a
  /// device tensor argument, that device tensor.
  public var results: [TensorValue]
  /// Each kernel's device time in order, when the run was profiled and the device times kernels.
  public var kernels: [KernelTiming]?
  /// Bytes the run copied between the host and the device.
  public var traffic: Traffic

  /// Creates a run record.
  public init(results: [TensorValue], kernels: [KernelTiming]? = nil, traffic: Traffic = Traffic()) {
    self.results = results
    self.kernels = kernels
    self.traffic = traffic
  }
}

/// Bytes copied between the host and a device.
public struct Traffic: Hashable, Sendable {
  /// Host to device.
  public var toDevice = 0
  /// Device to host.
  public var toHost = 0

  /// No bytes either way.
  public init(toDevice: Int = 0, toHost: Int = 0) {
    self.toDevice = toDevice
    self.toHost = toHost
  }
}

/// A device's compiled form of one graph; ``CompiledGraph`` validates inputs before calling it.
public protocol GraphExecutable: Sendable {
  /// Runs once on values whose types already match the graph's arguments, in argument order;
  /// times each kernel when `profile` is set and the device can.
  func execute(_ inputs: [TensorValue], profile: Bool) throws(DeviceError) -> GraphRun
}

/// An executable that computes on host tensors (a device of one's own in plain Swift):
/// device tensor inputs are read, and results that update an argument in place
/// (``Graph/inPlaceUpdates``) are written back to it when it is a device tensor.
public protocol HostGraphExecutable: GraphExecutable {
  /// The graph whose arguments and results the tensors are.
  var graph: Graph { get }
  /// Runs once on host tensors in argument order.
  func execute(_ inputs: [Tensor]) throws(DeviceError) -> [Tensor]
}

extension HostGraphExecutable {
  /// Reads device inputs, runs on the host, writes in-place results back to their tensors.
  public func execute(_ inputs: [TensorValue], profile: Bool) throws(DeviceError) -> GraphRun {
    var traffic = Traffic()
    let hostInputs = try graph.hostInputs(inputs, traffic: &traffic)
    let results = try TraceRecorder.span("run @\(graph.name) on the host") { () throws(DeviceError) in
      try execute(hostInputs)
    }
    return GraphRun(results: try graph.writingUpdates(results, into: inputs, traffic: &traffic), traffic: traffic)
  }
}

extension Graph {
  /// `inputs` as host tensors (device tensors read back, counted in `traffic`).
  public func hostInputs(_ inputs: [TensorValue], traffic: inout Traffic) throws(DeviceError) -> [Tensor] {
    var tensors: [Tensor] = []
    for input in inputs {
      if case .device(let tensor) = input { traffic.toHost += tensor.byteCount }
      tensors.append(try input.hostTensor())
    }
    return tensors
  }

  /// Host `results` of a run on `inputs`, with each in-place update (``inPlaceUpdates``) of a
  /// device tensor input written to that tensor and returned as it.
  public func writingUpdates(_ results: [Tensor], into inputs: [TensorValue], traffic: inout Traffic)
    throws(DeviceError) -> [TensorValue]
  {
    let updates = inPlaceUpdates
    var values: [TensorValue] = []
    for (index, result) in results.enumerated() {
      if let argument = updates[index], case .device(let tensor) = inputs[argument] {
        try tensor.write(result)
        traffic.toDevice += tensor.byteCount
        values.append(.device(tensor))
      } else {
        values.append(.host(result))
      }
    }
    return values
  }
}
