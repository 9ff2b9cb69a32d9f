import TesseraIR

/// Ops that make a tensor from attributes or known inputs: `Constant`, `ConstantOfShape`,
/// `Range`.
enum GeneratorOps {
  /// The handlers of this group, by ONNX op type.
  static let handlers: [String: OpHandler] = [
    "Constant": constant, "ConstantOfShape": constantOfShape, "Range": range,
  ]

  private static func constant(_ c: ImportContext) throws(ONNXError) -> [ValueID] {
    let node = c.node
    if let tensor = node.attribute("value")?.tensor { return [c.constant(try tensorValue(c, tensor))] }
    if let value = node.attribute("value_float") { return [c.scalar(Double(value.float), .f32)] }
    if let value = node.attribute("value_int") { return [c.scalar(Double(value.int), .i64)] }
    if let values = node.attribute("value_floats") {
      return [c.constant(Tensor(values.floats.map(Double.init), shape: [values.floats.count], dtype: .f32))]
    }
    if let values = node.attribute("value_ints") {
      return [c.constant(Tensor(values.ints.map(Double.init), shape: [values.ints.count], dtype: .i64))]
    }
    throw c.failure("has no value Tessera can hold (sparse and string constants are not supported)")
  }

  private static func tensorValue(_ c: ImportContext, _ tensor: ONNXTensor) throws(ONNXError) -> Tensor {
    do {
      return try tensor.tensor(directory: c.directory)
    } catch {
      throw c.failure("its value: \(error)")
    }
  }

  /// A tensor of the shape input 0 gives, filled with the one element of `value` (float 0).
  private static func constantOfShape(_ c: ImportContext) throws(ONNXError) -> [ValueID] {
    guard let dims = try c.constantInts(0, "shape") else { throw c.failure("has no shape") }
    let shape = try ONNXTensor.shape(dims.map(Int64.init), what: "ConstantOfShape '\(c.node.displayName)'")
    var fill = Tensor([0], shape: [], dtype: .f32)
    if let tensor = c.node.attribute("value")?.tensor {
      fill = try tensorValue(c, tensor)
      guard fill.shape.count == 1 else { throw c.failure("value must hold one element, found \(fill.type)") }
    }
    let element = fill.element(at: 0)
    if shape.count <= c.maxFoldElements {
      return [c.constant(Tensor(repeating: element, shape: shape, dtype: fill.dtype))]
    }
    return [try c.emit(.broadcast, [c.scalar(element, fill.dtype)], ["shape": .ints(shape.dims)])]
  }

  /// The longest `Range` the importer writes out as a constant.
  static let maxRangeElements = 1 << 26

  /// `Range(start, limit, delta)` of known scalars: `max(ceil((limit - start) / delta), 0)`
  /// elements `start + i * delta`.
  private static func range(_ c: ImportContext) throws(ONNXError) -> [ValueID] {
    guard let start = try c.constantInput(0, "start"), let limit = try c.constantInput(1, "limit"),
      let delta = try c.constantInput(2, "delta")
    else { throw c.failure("needs start, limit and delta") }
    guard start.shape.count == 1, limit.shape.count == 1, delta.shape.count == 1 else {
      throw c.failure("start, limit and delta must be scalars")
    }
    let (first, bound, step) = (start.element(at: 0), limit.element(at: 0), delta.element(at: 0))
    guard step != 0, step.isFinite, first.isFinite, bound.isFinite else {
      throw c.failure("delta must be non-zero and every bound finite")
    }
    let count = Swift.max((bound - first) / step, 0).rounded(.up)
    guard count <= Double(maxRangeElements) else {
      throw c.failure("would make more than the \(maxRangeElements) elements the importer writes out")
    }
    let values = (0..<Int(count)).map { first + Double($0) * step }
    return [c.constant(Tensor(values, shape: [values.count], dtype: start.dtype))]
  }
}
