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
/// one at a time.
public enum ReferenceEvaluator {
  /// Runs `graph` on `inputs` (argument order, types already checked) and returns its results.
  public static func evaluate(_ graph: Graph, inputs: [Tensor]) throws(DeviceError) -> [Tensor] {
    var values: [ValueID: RefArray] = [:]
    for (argument, input) in zip(graph.arguments, inputs) {
      values[argument] = RefArray(input)
    }
    let lastReaders = lastReaders(graph)
    for (index, node) in graph.nodes.enumerated() {
      let operands = node.operands.map { values[$0]! }
      let resultType = graph.type(of: node.result)
      do {
        values[node.result] = try evaluate(node, operands, resultType)
      } catch {
        throw .execution(op: node.kind, value: graph[node.result].name, message: error.message)
      }
      for operand in node.operands where lastReaders[operand] == index { values[operand] = nil }
    }
    return graph.results.map { values[$0]!.tensor }
  }

  /// For each value an op reads, the index of the last op that reads it; results are read after
  /// every op, so they have none.
  private static func lastReaders(_ graph: Graph) -> [ValueID: Int] {
    var last: [ValueID: Int] = [:]
    for (index, node) in graph.nodes.enumerated() {
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
public final class ReferenceDevice: Device {
  /// Always available: it needs nothing but Swift.
  public let info = DeviceInfo(
    name: "reference", kind: .reference, summary: "reference evaluator (plain Swift, f32, wide accumulation)",
    driver: "built in", availability: .available)

  /// Host memory: device tensors of the reference are host bytes.
  public let store: any TensorStore = HostTensorStore(deviceName: "reference")

  /// Creates the device.
  public init() {}

  /// Nothing to prepare: the oracle runs the graph exactly as written, unoptimised.
  public func compile(_ graph: Graph) throws(DeviceError) -> CompiledGraph {
    CompiledGraph(graph: graph, deviceName: info.name, executable: ReferenceExecutable(graph: graph))
  }
}

private struct ReferenceExecutable: HostGraphExecutable {
  let graph: Graph
  func execute(_ inputs: [Tensor]) throws(DeviceError) -> [Tensor] {
    try ReferenceEvaluator.evaluate(graph, inputs: inputs)
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
