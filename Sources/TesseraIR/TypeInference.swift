/// Why an op's operands or attributes are invalid; the caller adds the location.
public struct InferenceFailure: Error, Hashable, Sendable {
  /// What was wrong and what was expected.
  public var message: String
  init(_ message: String) { self.message = message }
}

/// Shape and dtype inference for every op: the verifier rules of the IR in one place.
public enum TypeInference {
  /// The result type of `kind` applied to operands of `operandTypes` with `attributes`.
  /// `literal` is the payload of a `constant`.
  public static func resultType(
    of kind: OpKind, operands operandTypes: [TensorType], attributes: Attributes,
    literal: Tensor? = nil
  ) throws(InferenceFailure) -> TensorType {
    try checkOperandCount(kind, operandTypes.count)
    try checkAttributeNames(kind, attributes)
    let reader = AttributeReader(attributes: attributes)
    switch kind.family {
    case .binary: return try binary(kind, operandTypes[0], operandTypes[1])
    case .unary: return try unary(kind, operandTypes[0])
    case .elementwiseOther: return try elementwiseOther(kind, operandTypes, reader)
    case .reduction: return try reduction(kind, operandTypes[0], reader)
    case .contraction: return try matmul(operandTypes[0], operandTypes[1])
    case .movement: return try movement(kind, operandTypes, reader)
    case .composite: return try composite(kind, operandTypes, reader)
    case .window: return try window(kind, operandTypes, reader)
    case .source: return try source(kind, operandTypes, reader, literal)
    }
  }

  /// The attribute names each op accepts.
  public static func allowedAttributes(of kind: OpKind) -> [String] {
    switch kind {
    case .compare: ["kind"]
    case .cast, .dequantize: ["to"]
    case .reduceSum, .reduceMax, .reduceMin, .reduceMean: ["axes", "keepdims"]
    case .argmax: ["axis", "keepdims"]
    case .transpose: ["perm"]
    case .reshape, .broadcast: ["shape"]
    case .slice: ["start", "end", "step"]
    case .concat, .gather, .softmax, .updateSlice: ["axis"]
    case .rmsNorm, .layerNorm: ["axis", "epsilon"]
    case .rope: ["theta", "mode"]
    case .gelu: ["approximate"]
    case .conv2d: ["strides", "pads", "dilations", "groups"]
    case .maxPool2d: ["kernel", "strides", "pads", "dilations", "ceil_mode"]
    case .avgPool2d: ["kernel", "strides", "pads", "dilations", "ceil_mode", "count_include_pad"]
    case .pad: ["pads", "mode", "value"]
    default: []
    }
  }

  /// The accepted operand counts of each op.
  public static func operandCount(of kind: OpKind) -> ClosedRange<Int> {
    switch kind.family {
    case .binary, .contraction: 2...2
    case .unary, .reduction: 1...1
    case .source: kind == .constant ? 0...0 : 1...1
    case .elementwiseOther: kind == .select ? 3...3 : kind == .compare ? 2...2 : 1...1
    case .movement: kind == .concat ? 1...Int.max : kind == .gather ? 2...2 : kind == .updateSlice ? 3...3 : 1...1
    case .composite: kind == .layerNorm ? 1...3 : kind == .softmax ? 1...1 : 2...2
    case .window: kind == .conv2d ? 2...2 : 1...1
    }
  }

  // MARK: - Families

  private static func binary(_ kind: OpKind, _ a: TensorType, _ b: TensorType) throws(InferenceFailure) -> TensorType {
    try requireSameDType(a, b)
    guard a.dtype.isNumeric else { throw InferenceFailure("expected numeric operands, found \(a.dtype)") }
    if kind == .pow { try requireFloat(a) }
    return TensorType(a.dtype, try broadcast(a.shape, b.shape))
  }

  private static func unary(_ kind: OpKind, _ a: TensorType) throws(InferenceFailure) -> TensorType {
    switch kind {
    case .neg, .abs, .relu:
      guard a.dtype.isNumeric else { throw InferenceFailure("expected a numeric operand, found \(a.dtype)") }
    default: try requireFloat(a)
    }
    return a
  }

  private static func elementwiseOther(
    _ kind: OpKind, _ operands: [TensorType], _ attrs: AttributeReader
  ) throws(InferenceFailure) -> TensorType {
    switch kind {
    case .compare:
      let compareKind = try attrs.symbol("kind", required: true, allowed: CompareKind.allCases.map(\.rawValue))
      try requireSameDType(operands[0], operands[1])
      let dtype = operands[0].dtype
      guard dtype.isNumeric || (dtype == .bool && (compareKind == "eq" || compareKind == "ne")) else {
        throw InferenceFailure("compare \(compareKind ?? "") needs numeric operands, found \(dtype)")
      }
      return TensorType(.bool, try broadcast(operands[0].shape, operands[1].shape))
    case .select:
      guard operands[0].dtype == .bool else {
        throw InferenceFailure("expected a bool condition as operand 1, found \(operands[0].dtype)")
      }
      try requireSameDType(operands[1], operands[2])
      try requirePlain(operands[1])
      let shape = try broadcast(try broadcast(operands[0].shape, operands[1].shape), operands[2].shape)
      return TensorType(operands[1].dtype, shape)
    default:  // cast
      try requirePlain(operands[0])
      let target = try attrs.dtype("to", required: true)!
      guard !target.isQuantized else {
        throw InferenceFailure("cast cannot produce \(target); quantized types are storage only")
      }
      return TensorType(target, operands[0].shape)
    }
  }

  private static func reduction(_ kind: OpKind, _ a: TensorType, _ attrs: AttributeReader) throws(InferenceFailure)
    -> TensorType
  {
    guard a.dtype.isNumeric else { throw InferenceFailure("expected a numeric operand, found \(a.dtype)") }
    let keepdims = try attrs.bool("keepdims") ?? false
    if kind == .argmax {
      let axis = try attrs.axis("axis", rank: a.shape.rank, required: true)!
      return TensorType(.i32, reduced(a.shape, axes: [axis], keepdims: keepdims))
    }
    if kind == .reduceMean { try requireFloat(a) }
    let axes = try attrs.axes("axes", rank: a.shape.rank) ?? Array(0..<a.shape.rank)
    return TensorType(a.dtype, reduced(a.shape, axes: axes, keepdims: keepdims))
  }

  private static func matmul(_ a: TensorType, _ b: TensorType) throws(InferenceFailure) -> TensorType {
    try requireSameDType(a, b)
    guard a.dtype.isNumeric else { throw InferenceFailure("expected numeric operands, found \(a.dtype)") }
    guard a.shape.rank >= 1, b.shape.rank >= 1 else {
      throw InferenceFailure("matmul needs operands of rank 1 or more, found \(a) and \(b)")
    }
    let layout = MatmulLayout(a.shape, b.shape)
    guard layout.k == layout.kB else {
      throw InferenceFailure("contraction dims differ: \(a) has \(layout.k), \(b) has \(layout.kB)")
    }
    guard let batch = Shape.broadcast(layout.batchA, layout.batchB) else {
      throw InferenceFailure("batch dims \(layout.batchA) and \(layout.batchB) do not broadcast")
    }
    return TensorType(a.dtype, layout.resultShape(batch: batch))
  }

  private static func movement(_ kind: OpKind, _ operands: [TensorType], _ attrs: AttributeReader)
    throws(InferenceFailure) -> TensorType
  {
    let a = operands[0]
    switch kind {
    case .transpose:
      let perm = try attrs.ints("perm") ?? Array((0..<a.shape.rank).reversed())
      guard perm.sorted() == Array(0..<a.shape.rank) else {
        throw InferenceFailure("perm \(perm) is not a permutation of 0..<\(a.shape.rank)")
      }
      return TensorType(a.dtype, Shape(perm.map { a.shape.dims[$0] }))
    case .reshape:
      let target = try attrs.ints("shape", required: true)!
      return TensorType(a.dtype, try resolveReshape(from: a.shape, to: target))
    case .broadcast:
      let target = Shape(try attrs.ints("shape", required: true)!)
      guard target.dims.allSatisfy({ $0 >= 0 }), Shape.broadcast(a.shape, target) == target else {
        throw InferenceFailure("\(a.shape) does not broadcast to \(target)")
      }
      return TensorType(a.dtype, target)
    case .slice: return TensorType(a.dtype, try sliceShape(a.shape, attrs))
    case .concat: return try concat(operands, attrs)
    case .updateSlice: return try updateSlice(operands, attrs)
    default:  // gather
      let axis = try attrs.axis("axis", rank: a.shape.rank) ?? 0
      guard operands[1].dtype.isInteger else {
        throw InferenceFailure("gather indices must be an integer type, found \(operands[1].dtype)")
      }
      let dims = Array(a.shape.dims[..<axis]) + operands[1].shape.dims + Array(a.shape.dims[(axis + 1)...])
      return TensorType(a.dtype, Shape(dims))
    }
  }

  /// `update_slice %base, %update, %start {axis}`: `update` has `base`'s dtype and rank and its
  /// dims except along `axis`, where it is at most as long; `start` is one integer (`[]` or `[1]`).
  private static func updateSlice(_ operands: [TensorType], _ attrs: AttributeReader) throws(InferenceFailure)
    -> TensorType
  {
    let (base, update, start) = (operands[0], operands[1], operands[2])
    let axis = try attrs.axis("axis", rank: base.shape.rank) ?? 0
    try requireSameDType(base, update)
    try requirePlain(base)
    let fits =
      update.shape.rank == base.shape.rank
      && base.shape.dims.indices.allSatisfy {
        $0 == axis ? update.shape.dims[$0] <= base.shape.dims[$0] : update.shape.dims[$0] == base.shape.dims[$0]
      }
    guard fits else {
      throw InferenceFailure("update \(update.shape) does not fit in base \(base.shape) along axis \(axis)")
    }
    guard start.dtype.isInteger, start.shape.count == 1, start.shape.rank <= 1 else {
      throw InferenceFailure("the start of update_slice must be one integer (i32[] or i32[1]), found \(start)")
    }
    return base
  }

  private static func composite(_ kind: OpKind, _ operands: [TensorType], _ attrs: AttributeReader)
    throws(InferenceFailure) -> TensorType
  {
    let x = operands[0]
    try requireFloat(x)
    switch kind {
    case .softmax:
      _ = try attrs.axis("axis", rank: x.shape.rank)
    case .rmsNorm, .layerNorm:
      _ = try attrs.axis("axis", rank: x.shape.rank)
      if let epsilon = try attrs.float("epsilon"), !(epsilon >= 0) {
        throw InferenceFailure("epsilon must be non-negative, found \(epsilon)")
      }
      for (position, parameter) in operands.enumerated().dropFirst() {
        try requireSameDType(x, parameter)
        guard Shape.broadcast(x.shape, parameter.shape) == x.shape else {
          throw InferenceFailure("operand \(position + 1) of \(parameter) does not broadcast to \(x)")
        }
      }
    default:  // rope
      _ = try attrs.symbol("mode", allowed: ["normal", "neox"])
      _ = try attrs.float("theta")
      guard x.shape.rank >= 2, x.shape.dims.last! % 2 == 0 else {
        throw InferenceFailure("rope needs rank >= 2 and an even last dim, found \(x)")
      }
      let positions = operands[1]
      let sequenceLength = x.shape.dims[ropeSequenceAxis(rank: x.shape.rank)]
      guard positions.dtype.isInteger, positions.shape == [sequenceLength] else {
        throw InferenceFailure("rope positions must be an integer vector [\(sequenceLength)], found \(positions)")
      }
    }
    return x
  }

  private static func source(_ kind: OpKind, _ operands: [TensorType], _ attrs: AttributeReader, _ literal: Tensor?)
    throws(InferenceFailure) -> TensorType
  {
    if kind == .constant {
      guard let literal else { throw InferenceFailure("a constant needs a literal value") }
      return literal.type
    }
    guard operands[0].dtype.isQuantized else {
      let formats = BlockFormat.all.map(\.description).joined(separator: ", ")
      throw InferenceFailure("dequantize expects a block-quantized dtype (\(formats)), found \(operands[0].dtype)")
    }
    let target = try attrs.dtype("to") ?? .f32
    guard target.isFloatingPoint else { throw InferenceFailure("dequantize produces a float type, not \(target)") }
    return TensorType(target, operands[0].shape)
  }

  // MARK: - Helpers shared with evaluators

  /// The axis of `rope`'s input that the positions index: `[seq, dim]` or `[…, seq, heads, dim]`.
  public static func ropeSequenceAxis(rank: Int) -> Int { rank >= 3 ? rank - 3 : 0 }

  /// The shape after reducing `axes`.
  public static func reduced(_ shape: Shape, axes: [Int], keepdims: Bool) -> Shape {
    let axisSet = Set(axes)
    var dims: [Int] = []
    for (axis, dim) in shape.dims.enumerated() {
      if !axisSet.contains(axis) { dims.append(dim) } else if keepdims { dims.append(1) }
    }
    return Shape(dims)
  }

  /// Resolves a reshape target with at most one `-1`.
  public static func resolveReshape(from shape: Shape, to target: [Int]) throws(InferenceFailure) -> Shape {
    let unknown = target.filter { $0 == -1 }.count
    guard unknown <= 1, target.allSatisfy({ $0 >= -1 }) else {
      throw InferenceFailure("reshape shape \(target) may hold one -1 and no other negative size")
    }
    let known = target.filter { $0 != -1 }.reduce(1, *)
    var dims = target
    if unknown == 1 {
      guard known > 0, shape.count % known == 0 else {
        throw InferenceFailure("cannot reshape \(shape) (\(shape.count) elements) into \(target)")
      }
      dims[target.firstIndex(of: -1)!] = shape.count / known
    }
    guard Shape(dims).count == shape.count else {
      throw InferenceFailure(
        "cannot reshape \(shape) (\(shape.count) elements) into \(Shape(dims)) (\(Shape(dims).count) elements)")
    }
    return Shape(dims)
  }

  private static func sliceShape(_ shape: Shape, _ attrs: AttributeReader) throws(InferenceFailure) -> Shape {
    let start = try attrs.ints("start", required: true)!
    let end = try attrs.ints("end", required: true)!
    let step = try attrs.ints("step") ?? [Int](repeating: 1, count: shape.rank)
    guard start.count == shape.rank, end.count == shape.rank, step.count == shape.rank else {
      throw InferenceFailure("slice start, end and step need \(shape.rank) entries for \(shape)")
    }
    var dims: [Int] = []
    for axis in 0..<shape.rank {
      guard step[axis] >= 1 else {
        throw InferenceFailure("slice step must be >= 1, found \(step[axis]) on axis \(axis)")
      }
      guard 0 <= start[axis], start[axis] <= end[axis], end[axis] <= shape.dims[axis] else {
        throw InferenceFailure(
          "slice [\(start[axis]), \(end[axis])) is outside axis \(axis) of size \(shape.dims[axis])")
      }
      dims.append((end[axis] - start[axis] + step[axis] - 1) / step[axis])
    }
    return Shape(dims)
  }

  private static func concat(_ operands: [TensorType], _ attrs: AttributeReader) throws(InferenceFailure) -> TensorType
  {
    let first = operands[0]
    guard first.shape.rank >= 1 else { throw InferenceFailure("concat needs operands of rank 1 or more") }
    let axis = try attrs.axis("axis", rank: first.shape.rank, required: true)!
    var dims = first.shape.dims
    for (position, operand) in operands.enumerated().dropFirst() {
      try requireSameDType(first, operand)
      var other = operand.shape.dims
      guard other.count == dims.count else {
        throw InferenceFailure("operand \(position + 1) has rank \(other.count), expected \(dims.count)")
      }
      other[axis] = dims[axis]
      guard other == dims else {
        throw InferenceFailure("operand \(position + 1) of \(operand) differs from \(first) outside axis \(axis)")
      }
      dims[axis] += operand.shape.dims[axis]
    }
    return TensorType(first.dtype, Shape(dims))
  }

  private static func broadcast(_ a: Shape, _ b: Shape) throws(InferenceFailure) -> Shape {
    guard let shape = Shape.broadcast(a, b) else { throw InferenceFailure("shapes \(a) and \(b) do not broadcast") }
    return shape
  }

  static func requireSameDType(_ a: TensorType, _ b: TensorType) throws(InferenceFailure) {
    guard a.dtype == b.dtype else { throw InferenceFailure("operand dtypes differ: \(a) and \(b)") }
  }

  static func requireFloat(_ a: TensorType) throws(InferenceFailure) {
    guard a.dtype.isFloatingPoint else {
      throw InferenceFailure("expected a float operand (f32, f16, bf16), found \(a)")
    }
  }

  static func requirePlain(_ a: TensorType) throws(InferenceFailure) {
    guard !a.dtype.isQuantized else { throw InferenceFailure("\(a.dtype) is storage only; dequantize it first") }
  }

  private static func checkOperandCount(_ kind: OpKind, _ count: Int) throws(InferenceFailure) {
    let allowed = operandCount(of: kind)
    guard allowed.contains(count) else {
      let expected =
        allowed.lowerBound == allowed.upperBound
        ? "\(allowed.lowerBound)"
        : allowed.upperBound == Int.max
          ? "at least \(allowed.lowerBound)" : "\(allowed.lowerBound) to \(allowed.upperBound)"
      throw InferenceFailure("expected \(expected) operand\(expected == "1" ? "" : "s"), found \(count)")
    }
  }

  private static func checkAttributeNames(_ kind: OpKind, _ attributes: Attributes) throws(InferenceFailure) {
    let allowed = allowedAttributes(of: kind)
    for key in attributes.keys where !allowed.contains(key) {
      let expected = allowed.isEmpty ? "none" : allowed.joined(separator: ", ")
      throw InferenceFailure("unknown attribute '\(key)' (\(kind) takes: \(expected))")
    }
  }
}

/// The `[…, m, k] x […, k, n]` view of a numpy matmul, with 1-D operands promoted.
public struct MatmulLayout: Sendable {
  /// Batch dims of each operand (everything before the last two).
  public var batchA: Shape, batchB: Shape
  /// Rows of A, contraction size as A sees it, contraction size as B sees it, columns of B.
  public var m: Int, k: Int, kB: Int, n: Int
  /// Whether A or B was a vector (its promoted axis is dropped from the result).
  public var aIsVector: Bool, bIsVector: Bool

  /// Computes the layout of `a @ b`.
  public init(_ a: Shape, _ b: Shape) {
    aIsVector = a.rank == 1
    bIsVector = b.rank == 1
    let a2 = aIsVector ? [1] + a.dims : a.dims
    let b2 = bIsVector ? b.dims + [1] : b.dims
    batchA = Shape(Array(a2.dropLast(2)))
    batchB = Shape(Array(b2.dropLast(2)))
    m = a2[a2.count - 2]
    k = a2[a2.count - 1]
    kB = b2[b2.count - 2]
    n = b2[b2.count - 1]
  }

  /// The result shape for broadcast batch dims.
  public func resultShape(batch: Shape) -> Shape {
    var dims = batch.dims
    if !aIsVector { dims.append(m) }
    if !bIsVector { dims.append(n) }
    return Shape(dims)
  }
}
