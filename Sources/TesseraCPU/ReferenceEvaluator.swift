import TesseraIR
import TesseraRuntime

/// The oracle: runs a graph op by op in plain, obviously-correct Swift with numpy semantics.
///
/// Floating-point values are stored as `Float` and rounded to the value's dtype after every op;
/// reductions, matmul and normalisations accumulate in `Double`. Integer arithmetic wraps at the
/// dtype's width. Every other target is tested against this evaluator.
///
/// A value is dropped after the last op that reads it (results are kept), so a run holds the
/// values live at one op, not every value of the graph: a model's dequantized f32 weights exist
/// one at a time. (``ReferenceDevice`` keeps them across runs instead, computed the same way.)
public enum ReferenceEvaluator {
  /// Runs `graph` on `inputs` (argument order, types already checked) and returns its results.
  public static func evaluate(_ graph: Graph, inputs: [Tensor]) throws(DeviceError) -> [Tensor] {
    try evaluate(graph, inputs: inputs, known: [:], keeping: []).results
  }

  /// Runs `graph` with the values in `known` given instead of computed: their ops, and every op
  /// only they need, are skipped (the reference device's kept weight-only values). Also returns
  /// the values of `keeping` that the run computed.
  static func evaluate(
    _ graph: Graph, inputs: [Tensor], known: [ValueID: RefArray], keeping: Set<ValueID>
  ) throws(DeviceError) -> (results: [Tensor], computed: [ValueID: RefArray]) {
    let needed = neededNodes(graph, known: known)
    let lastReaders = lastReaders(graph, needed)
    let results = Set(graph.results)
    var values = known
    for (argument, input) in zip(graph.arguments, inputs)
    where lastReaders[argument] != nil || results.contains(argument) {
      values[argument] = RefArray(input)
    }
    var computed: [ValueID: RefArray] = [:]
    for (index, node) in graph.nodes.enumerated() where needed[index] {
      let operands = node.operands.map { values[$0]! }
      let resultType = graph.type(of: node.result)
      do {
        values[node.result] = try evaluate(node, operands, resultType)
      } catch {
        throw .execution(op: node.kind, value: graph[node.result].name, message: error.message)
      }
      if keeping.contains(node.result) { computed[node.result] = values[node.result] }
      for operand in node.operands where lastReaders[operand] == index { values[operand] = nil }
    }
    return (graph.results.map { values[$0]!.tensor }, computed)
  }

  /// Which ops the results need, by index: none behind a value in `known`.
  private static func neededNodes(_ graph: Graph, known: [ValueID: RefArray]) -> [Bool] {
    guard !known.isEmpty else { return Array(repeating: true, count: graph.nodes.count) }
    var wanted = Set(graph.results)
    var needed = Array(repeating: false, count: graph.nodes.count)
    for (index, node) in graph.nodes.enumerated().reversed()
    where wanted.contains(node.result) && known[node.result] == nil {
      needed[index] = true
      wanted.formUnion(node.operands)
    }
    return needed
  }

  /// For each value a needed op reads, the index of the last needed op that reads it; results
  /// are read after every op, so they have none.
  private static func lastReaders(_ graph: Graph, _ needed: [Bool]) -> [ValueID: Int] {
    var last: [ValueID: Int] = [:]
    for (index, node) in graph.nodes.enumerated() where needed[index] {
      for operand in node.operands { last[operand] = index }
    }
    for result in graph.results { last[result] = nil }
    return last
  }

  private static func evaluate(_ node: Node, _ operands: [RefArray], _ type: TensorType) throws(EvaluationFailure)
    -> RefArray
  {
    let attributes = node.attributes
    switch node.kind.family {
    case .binary: return Elementwise.binary(node.kind, operands[0], operands[1], type)
    case .unary: return Elementwise.unary(node.kind, operands[0], attributes)
    case .elementwiseOther: return Elementwise.other(node.kind, operands, attributes, type)
    case .reduction: return Reductions.reduce(node.kind, operands[0], attributes, type)
    case .contraction: return MatrixMultiply.matmul(operands[0], operands[1], type)
    case .movement: return try Movement.apply(node.kind, operands, attributes, type)
    case .composite: return Composite.apply(node.kind, operands, attributes)
    case .window: return Windows.apply(node.kind, operands, attributes, type)
    case .source:
      if let literal = node.literal { return RefArray(literal) }
      return RefArray(floats: operands[0].floats, dtype: type.dtype, shape: type.shape)
    }
  }
}

/// Why a run failed on valid types (an index out of range); the evaluator adds op and value.
struct EvaluationFailure: Error {
  var message: String
}

/// A device wrapping ``ReferenceEvaluator``: `reference` in the registry.
///
/// Values computed only from device tensors a graph never writes (``WeightOnlyValues``: a
/// model's weights dequantized and transposed) are kept after their first run, shared by every
/// graph of the device, and recomputed when one of those tensors is written; they count in the
/// store's ``HostTensorStore/allocatedBytes``. Keeping them changes no value: the same ops
/// compute them from the same bytes, once.
public final class ReferenceDevice: Device {
  /// Always available: it needs nothing but Swift.
  public let info = DeviceInfo(
    name: "reference", kind: .reference, summary: "reference evaluator (plain Swift, f32, wide accumulation)",
    driver: "built in", availability: .available)

  /// Host memory: device tensors of the reference are host bytes.
  public var store: any TensorStore { hostStore }
  private let hostStore = HostTensorStore(deviceName: "reference")

  /// The kept weight-only values, each with the token counting its bytes in ``store``.
  let keptValues = DerivedValueCache<KeptValue>()

  /// Creates the device.
  public init() {}

  /// Nothing to prepare: the oracle runs the graph exactly as written, unoptimised.
  public func compile(_ graph: Graph) throws(DeviceError) -> CompiledGraph {
    let executable = ReferenceExecutable(graph: graph, kept: keptValues, store: hostStore)
    return CompiledGraph(graph: graph, deviceName: info.name, executable: executable)
  }
}

/// A weight-only value the reference keeps, and the count of its bytes in the device's store.
struct KeptValue: Sendable {
  let array: RefArray
  let counted: CountedAllocation
}

/// Reads device inputs, runs the evaluator on the host with the kept values, writes in-place
/// results back to their tensors (as a ``HostGraphExecutable`` does, plus the kept values).
private struct ReferenceExecutable: GraphExecutable {
  let graph: Graph
  let kept: DerivedValueCache<KeptValue>
  let store: HostTensorStore

  /// Runs on the host with the kept weight-only values of the device tensors among `inputs`,
  /// keeping those this run computes.
  func execute(_ inputs: [TensorValue], profile: Bool) throws(DeviceError) -> GraphRun {
    var tensors: [Int: DeviceTensor] = [:]
    for (position, input) in inputs.enumerated() {
      if case .device(let tensor) = input { tensors[position] = tensor }
    }
    let weightOnly = WeightOnlyValues(graph, resident: Set(tensors.keys))
    var known: [ValueID: RefArray] = [:]
    var keys: [ValueID: (key: String, sources: [DeviceTensor])] = [:]
    for (value, positions) in weightOnly.kept {
      let key = weightOnly.key(of: value, tensors: tensors), sources = positions.map { tensors[$0]! }
      if let (entry, current) = kept.lookup(key, sources: sources), current {
        known[value] = entry.array
      } else {
        keys[value] = (key, sources)
      }
    }
    var traffic = Traffic()
    let hostInputs = try graph.hostInputs(inputs, traffic: &traffic)
    let (results, computed) = try TraceRecorder.span("run @\(graph.name) on the host") { () throws(DeviceError) in
      try ReferenceEvaluator.evaluate(graph, inputs: hostInputs, known: known, keeping: Set(keys.keys))
    }
    for (value, array) in computed {
      let (key, sources) = keys[value]!
      kept.record(key, value: KeptValue(array: array, counted: store.countHeld(array.byteCount)), sources: sources)
    }
    return GraphRun(results: try graph.writingUpdates(results, into: inputs, traffic: &traffic), traffic: traffic)
  }
}

/// Lists the reference device.
public struct ReferenceProvider: DeviceProvider {
  /// Every device it lists is `reference`.
  public var kind: DeviceKind? { .reference }
  /// Creates the provider.
  public init() {}
  /// One entry: `reference`, always available.
  public func discover() -> [DeviceEntry] { [DeviceEntry(device: ReferenceDevice())] }
}
