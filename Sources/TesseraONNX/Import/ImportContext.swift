import TesseraCompiler
import TesseraIR

/// The state of one import: the graph being built, the Tessera value of each ONNX value name,
/// the values known at import time, and the node being imported. Op handlers read their inputs
/// and attributes through it and emit Tessera ops with ``emit(_:_:_:)``, which folds an op whose
/// operands are all known into a constant, so shape arithmetic (`Shape`, `Gather`, `Concat` into
/// `Reshape`) disappears at import.
final class ImportContext {
  let builder: GraphBuilder
  let evaluator: any ConstantEvaluator
  let maxFoldElements: Int
  /// The model's folder, where tensors stored outside the model are found.
  let directory: String?
  /// The Tessera value of each ONNX value name defined so far.
  var values: [String: ValueID] = [:]
  /// The values whose contents are known at import time.
  private(set) var literals: [ValueID: Tensor] = [:]
  /// The node being imported and the opset of its domain.
  private(set) var node = ONNXNode()
  private(set) var opset: Int64 = 0
  private var nextName = 0

  init(name: String, evaluator: any ConstantEvaluator, maxFoldElements: Int, directory: String?) {
    builder = GraphBuilder(name: name)
    self.directory = directory
    self.evaluator = evaluator
    self.maxFoldElements = maxFoldElements
  }

  /// Starts importing `node`.
  func begin(_ node: ONNXNode, opset: Int64) {
    self.node = node
    self.opset = opset
  }

  /// An error about the current node.
  func failure(_ message: String) -> ONNXError {
    .invalidNode(node: node.displayName, opType: node.opType, opset: opset, message: message)
  }

  /// A fresh internal value name; values are given their ONNX names when the import ends.
  func freshName() -> String {
    defer { nextName += 1 }
    return "t\(nextName)"
  }

  // MARK: - Inputs

  /// Whether optional input `index` is given.
  func has(_ index: Int) -> Bool { index < node.inputs.count && !node.inputs[index].isEmpty }

  /// Input `index`, which must be given and defined.
  func input(_ index: Int) throws(ONNXError) -> ValueID {
    guard has(index) else { throw failure("input \(index) is required") }
    let name = node.inputs[index]
    guard let value = values[name] else {
      throw failure("input \(index) '\(name)' is not defined by an earlier node, an initializer or a graph input")
    }
    return value
  }

  /// Input `index`, or `nil` when omitted.
  func optionalInput(_ index: Int) throws(ONNXError) -> ValueID? { has(index) ? try input(index) : nil }

  /// Every given input.
  func allInputs() throws(ONNXError) -> [ValueID] {
    var result: [ValueID] = []
    for index in node.inputs.indices where has(index) { result.append(try input(index)) }
    return result
  }

  /// The contents of input `index`, which must be known at import time (a constant, an
  /// initializer, or computed from them); `nil` when the input is omitted.
  func constantInput(_ index: Int, _ what: String) throws(ONNXError) -> Tensor? {
    guard let value = try optionalInput(index) else { return nil }
    guard let literal = literals[value] else {
      throw failure(
        "input \(index) '\(node.inputs[index])' (\(what)) must be known at import time; give the model's input shapes with --input-shape so it can be computed"
      )
    }
    return literal
  }

  /// Input `index` as integers known at import time.
  func constantInts(_ index: Int, _ what: String) throws(ONNXError) -> [Int]? {
    guard let tensor = try constantInput(index, what) else { return nil }
    guard tensor.dtype.isInteger else { throw failure("\(what) must be integers, found \(tensor.type)") }
    return tensor.int64s.map { Int(clamping: $0) }
  }

  /// The known contents of `value`, if any.
  func literal(_ value: ValueID) -> Tensor? { literals[value] }

  /// The type of a value built so far.
  func type(_ value: ValueID) -> TensorType { builder.type(of: value) }

  // MARK: - Attributes

  /// Integer attribute `name`, or `fallback`.
  func int(_ name: String, _ fallback: Int) -> Int {
    node.attribute(name).map { Int(clamping: $0.int) } ?? fallback
  }

  /// Float attribute `name`, or `fallback`.
  func float(_ name: String, _ fallback: Double) -> Double {
    node.attribute(name).map { Double($0.float) } ?? fallback
  }

  /// Integer-list attribute `name`, or `nil`.
  func ints(_ name: String) -> [Int]? { node.attribute(name).map { $0.ints.map { Int(clamping: $0) } } }

  /// String attribute `name`, or `fallback`.
  func string(_ name: String, _ fallback: String) -> String {
    node.attribute(name).map { String(decoding: $0.string, as: UTF8.self) } ?? fallback
  }

  // MARK: - Emitting

  /// A constant holding `tensor`.
  func constant(_ tensor: Tensor) -> ValueID {
    let value = builder.constant(tensor, name: freshName())
    literals[value] = tensor
    return value
  }

  /// A scalar constant of `dtype`.
  func scalar(_ value: Double, _ dtype: DType) -> ValueID { constant(Tensor([value], shape: [], dtype: dtype)) }

  /// Emits `kind` on `operands`; an invalid combination is an error naming the ONNX node. When
  /// every operand is known and the result is small, emits its value as a constant instead.
  func emit(_ kind: OpKind, _ operands: [ValueID], _ attributes: Attributes = [:]) throws(ONNXError) -> ValueID {
    let type: TensorType
    do {
      type = try TypeInference.resultType(of: kind, operands: operands.map(self.type), attributes: attributes)
    } catch {
      throw failure("cannot express it as Tessera '\(kind)': \(error.message)")
    }
    try checkSize(type.shape.dims, "its result")
    if let folded = fold(kind, operands, attributes, type) { return constant(folded) }
    return builder.op(kind, operands, attributes: attributes, name: freshName())
  }

  /// Fails unless `dims` (ignoring `-1` entries) have at most ``ONNXTensor/maxRank`` axes and
  /// ``ONNXTensor/maxElements`` elements, so that no later product of them can overflow.
  func checkSize(_ dims: [Int], _ what: String) throws(ONNXError) {
    guard dims.count <= ONNXTensor.maxRank else {
      throw failure("\(what) would have \(dims.count) dimensions (at most \(ONNXTensor.maxRank))")
    }
    var count = 1
    for dim in dims where dim != -1 {
      let (product, overflow) = count.multipliedReportingOverflow(by: Swift.max(dim, 0))
      guard !overflow, product <= ONNXTensor.maxElements else {
        throw failure("\(what) with dims \(dims) would hold more than \(ONNXTensor.maxElements) elements")
      }
      count = product
    }
  }

  private func fold(_ kind: OpKind, _ operands: [ValueID], _ attributes: Attributes, _ type: TensorType) -> Tensor? {
    let inputs = operands.compactMap { literals[$0] }
    guard inputs.count == operands.count, type.shape.count <= maxFoldElements else { return nil }
    let single = GraphBuilder(name: "fold")
    let arguments = inputs.enumerated().map { single.argument("a\($0.offset)", $0.element.type) }
    let result = single.op(kind, arguments, attributes: attributes, name: "r")
    guard let graph = try? single.finish(returning: [result]),
      let values = evaluator.evaluate(graph, inputs: inputs), values.count == 1, values[0].type == type
    else { return nil }
    return values[0]
  }
}
