import TesseraIR

/// Shape and movement ops. Their shape operands must be known at import time; with the model's
/// input shapes fixed, `Shape` and the arithmetic on its result fold into constants first.
enum ShapeOps {
  /// The handlers of this group, by ONNX op type.
  static let handlers: [String: OpHandler] = [
    "Reshape": reshape, "Transpose": transpose, "Squeeze": squeeze, "Unsqueeze": unsqueeze, "Flatten": flatten,
    "Concat": concat, "Gather": gather, "Expand": expand, "Split": split,
    "Shape": { c in
      let dims = c.type(try c.input(0)).shape.dims
      let start = try clampedIndex(c.int("start", 0), dims.count)
      let end = try clampedIndex(c.int("end", dims.count), dims.count)
      let kept = start < end ? Array(dims[start..<end]) : []
      return [c.constant(Tensor(kept.map(Double.init), shape: [kept.count], dtype: .i64))]
    },
    "Size": { c in
      [c.constant(Tensor([Double(c.type(try c.input(0)).shape.count)], shape: [], dtype: .i64))]
    },
  ]

  private static func clampedIndex(_ index: Int, _ rank: Int) throws(ONNXError) -> Int {
    Swift.min(Swift.max(index < 0 ? index + rank : index, 0), rank)
  }

  private static func reshape(_ c: ImportContext) throws(ONNXError) -> [ValueID] {
    let x = try c.input(0)
    let dims = c.type(x).shape.dims
    guard var target = c.opset < 5 ? c.ints("shape") : try c.constantInts(1, "shape") else {
      throw c.failure("has no target shape")
    }
    if c.int("allowzero", 0) == 0 {
      for (index, dim) in target.enumerated() where dim == 0 {
        guard index < dims.count else { throw c.failure("shape \(target) copies axis \(index) of \(c.type(x))") }
        target[index] = dims[index]
      }
    }
    try c.checkSize(target, "the target shape")
    return [try c.emit(.reshape, [x], ["shape": .ints(target)])]
  }

  private static func transpose(_ c: ImportContext) throws(ONNXError) -> [ValueID] {
    let x = try c.input(0)
    let perm = c.ints("perm") ?? Array((0..<c.type(x).shape.rank).reversed())
    return [try c.emit(.transpose, [x], ["perm": .ints(perm)])]
  }

  /// The `axes` of `Squeeze`/`Unsqueeze`: an attribute before opset 13, input 1 since.
  private static func axesOperand(_ c: ImportContext) throws(ONNXError) -> [Int]? {
    c.opset < 13 ? c.ints("axes") : try c.constantInts(1, "axes")
  }

  private static func squeeze(_ c: ImportContext) throws(ONNXError) -> [ValueID] {
    let x = try c.input(0)
    let dims = c.type(x).shape.dims
    let axes = try axesOperand(c).map { (given) throws(ONNXError) in try c.axes(given, rank: dims.count) }
    var kept: [Int] = []
    for (axis, dim) in dims.enumerated() {
      let squeezed = axes?.contains(axis) ?? (dim == 1)
      if squeezed && dim != 1 { throw c.failure("cannot squeeze axis \(axis) of size \(dim)") }
      if !squeezed { kept.append(dim) }
    }
    return [try c.reshape(x, kept)]
  }

  private static func unsqueeze(_ c: ImportContext) throws(ONNXError) -> [ValueID] {
    let x = try c.input(0)
    let dims = c.type(x).shape.dims
    guard let given = try axesOperand(c) else { throw c.failure("has no axes") }
    let axes = Set(try c.axes(given, rank: dims.count + given.count))
    var remaining = dims.makeIterator()
    let result = (0..<(dims.count + given.count)).map { axes.contains($0) ? 1 : remaining.next()! }
    return [try c.reshape(x, result)]
  }

  private static func flatten(_ c: ImportContext) throws(ONNXError) -> [ValueID] {
    let x = try c.input(0)
    let dims = c.type(x).shape.dims
    let axis = c.int("axis", 1)
    let resolved = axis < 0 ? axis + dims.count : axis
    guard (0...dims.count).contains(resolved) else { throw c.failure("axis \(axis) is out of range for \(c.type(x))") }
    return [try c.reshape(x, [dims[..<resolved].reduce(1, *), dims[resolved...].reduce(1, *)])]
  }

  private static func concat(_ c: ImportContext) throws(ONNXError) -> [ValueID] {
    let inputs = try c.allInputs()
    guard let first = inputs.first else { throw c.failure("needs at least one input") }
    let axis = try c.axis(c.int("axis", 0), rank: c.type(first).shape.rank)
    return [inputs.count == 1 ? first : try c.emit(.concat, inputs, ["axis": .int(axis)])]
  }

  /// `Gather`: negative indices count from the end of the axis, as ONNX allows; known indices
  /// are resolved at import, others with a `select` at run time.
  private static func gather(_ c: ImportContext) throws(ONNXError) -> [ValueID] {
    let data = try c.input(0)
    var indices = try c.input(1)
    let axis = try c.axis(c.int("axis", 0), rank: c.type(data).shape.rank)
    let size = c.type(data).shape.dims[axis]
    let indexType = c.type(indices)
    if let known = c.literal(indices) {
      var resolved: [Double] = []
      for value in known.int64s {
        guard value >= -Int64(size), value < Int64(size) else {
          throw c.failure("index \(value) is out of range for axis \(axis) of size \(size)")
        }
        resolved.append(Double(value < 0 ? value + Int64(size) : value))
      }
      indices = c.constant(Tensor(resolved, shape: indexType.shape, dtype: indexType.dtype))
    } else if indexType.dtype != .u8 {
      let zero = c.scalar(0, indexType.dtype)
      let negative = try c.emit(.compare, [indices, zero], ["kind": .symbol("lt")])
      let wrapped = try c.emit(.add, [indices, c.scalar(Double(size), indexType.dtype)])
      indices = try c.emit(.select, [negative, wrapped, indices])
    }
    return [try c.emit(.gather, [data, indices], ["axis": .int(axis)])]
  }

  /// `Expand`: broadcasting both ways, so the result has the broadcast of the two shapes.
  private static func expand(_ c: ImportContext) throws(ONNXError) -> [ValueID] {
    let x = try c.input(0)
    guard let target = try c.constantInts(1, "shape") else { throw c.failure("has no shape") }
    try c.checkSize(target, "the shape")
    guard let shape = Shape.broadcast(c.type(x).shape, Shape(target)), target.allSatisfy({ $0 >= 0 }) else {
      throw c.failure("\(c.type(x)) does not broadcast with shape \(target)")
    }
    return [shape == c.type(x).shape ? x : try c.emit(.broadcast, [x], ["shape": .ints(shape.dims)])]
  }

  /// `Split` into consecutive slices along `axis`: sizes from the `split` attribute (before
  /// opset 13) or input 1, else equal parts (the last smaller, since opset 18).
  private static func split(_ c: ImportContext) throws(ONNXError) -> [ValueID] {
    let x = try c.input(0)
    let dims = c.type(x).shape.dims
    let axis = try c.axis(c.int("axis", 0), rank: dims.count)
    let parts = c.node.outputs.count
    var sizes = c.opset < 13 ? c.ints("split") : try c.constantInts(1, "split")
    if sizes == nil || sizes!.isEmpty {
      let chunk = (dims[axis] + parts - 1) / Swift.max(parts, 1)
      sizes = (0..<parts).map { Swift.max(Swift.min(chunk, dims[axis] - $0 * chunk), 0) }
    }
    guard let sizes, sizes.count == parts, sizes.allSatisfy({ (0...dims[axis]).contains($0) }),
      sizes.reduce(0, +) == dims[axis]
    else {
      throw c.failure("split sizes \(sizes ?? []) do not divide axis \(axis) of \(c.type(x)) into \(parts) parts")
    }
    var start = 0
    var results: [ValueID] = []
    for size in sizes {
      var begin = [Int](repeating: 0, count: dims.count)
      var end = dims
      begin[axis] = start
      end[axis] = start + size
      results.append(try c.emit(.slice, [x], ["start": .ints(begin), "end": .ints(end)]))
      start += size
    }
    return results
  }
}
