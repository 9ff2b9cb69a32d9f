import TesseraIR

/// Reductions, `ArgMax`/`ArgMin`, `Softmax`/`LogSoftmax`, `MatMul`/`Gemm` and the normalizations.
enum ReductionOps {
  /// The handlers of this group, by ONNX op type.
  static let handlers: [String: OpHandler] = [
    "ReduceSum": { c in [try reduce(c, .reduceSum, axesInputSince: 13)] },
    "ReduceMean": { c in [try reduce(c, .reduceMean)] },
    "ReduceMax": { c in [try reduce(c, .reduceMax)] },
    "ReduceMin": { c in [try reduce(c, .reduceMin)] },
    "ReduceSumSquare": { c in
      let x = try c.input(0)
      return [try reduce(c, .reduceSum, of: try c.emit(.mul, [x, x]))]
    },
    "ReduceL1": { c in [try reduce(c, .reduceSum, of: try c.emit(.abs, [try c.input(0)]))] },
    "ReduceL2": { c in
      let x = try c.input(0)
      return [try c.emit(.sqrt, [try reduce(c, .reduceSum, of: try c.emit(.mul, [x, x]))])]
    },
    "ReduceLogSum": { c in [try c.emit(.log, [try reduce(c, .reduceSum)])] },
    "ReduceLogSumExp": { c in
      [try c.emit(.log, [try reduce(c, .reduceSum, of: try c.emit(.exp, [try c.input(0)]))])]
    },
    "ArgMax": { c in [try argmax(c, negate: false)] },
    "ArgMin": { c in [try argmax(c, negate: true)] },
    "Softmax": { c in [try softmax(c, log: false)] },
    "LogSoftmax": { c in [try softmax(c, log: true)] },
    "MatMul": { c in [try c.emit(.matmul, [try c.input(0), try c.input(1)])] },
    "Gemm": gemm,
  ]

  /// A reduction of input 0 (or `value`) over the node's axes: an attribute before opset
  /// `axesInputSince` (18 for most reductions, 13 for `ReduceSum`), input 1 from then on.
  static func reduce(_ c: ImportContext, _ kind: OpKind, of value: ValueID? = nil, axesInputSince: Int64 = 18)
    throws(ONNXError) -> ValueID
  {
    let x = if let value { value } else { try c.input(0) }
    let rank = c.type(x).shape.rank
    let given = c.opset < axesInputSince ? c.ints("axes") : try c.constantInts(1, "axes")
    let keepdims = c.int("keepdims", 1) != 0
    var axes: [Int]
    if let given, !given.isEmpty {
      axes = try c.axes(given, rank: rank)
    } else {
      if c.int("noop_with_empty_axes", 0) != 0 { return x }
      axes = Array(0..<rank)
    }
    axes.sort()
    return try c.emit(kind, [x], ["axes": .ints(axes), "keepdims": .bool(keepdims)])
  }

  /// `ArgMax` (or `ArgMin`, as the argmax of `-x`) along `axis`, as int64.
  private static func argmax(_ c: ImportContext, negate: Bool) throws(ONNXError) -> ValueID {
    guard c.int("select_last_index", 0) == 0 else { throw c.failure("select_last_index = 1 is not supported") }
    var x = try c.input(0)
    let axis = try c.axis(c.int("axis", 0), rank: c.type(x).shape.rank)
    if negate { x = try c.emit(.neg, [x]) }
    let index = try c.emit(.argmax, [x], ["axis": .int(axis), "keepdims": .bool(c.int("keepdims", 1) != 0)])
    return try c.cast(index, .i64)
  }

  /// `Softmax`/`LogSoftmax`. Before opset 13 the input is seen as a matrix (axes before `axis`
  /// times axes from it on) and normalised over each row; since, over `axis` alone.
  private static func softmax(_ c: ImportContext, log: Bool) throws(ONNXError) -> ValueID {
    let x = try c.input(0)
    let dims = c.type(x).shape.dims
    let axis = try c.axis(c.int("axis", c.opset < 13 ? 1 : -1), rank: dims.count)
    let flattened: ValueID
    if c.opset < 13 {
      let rows = dims[..<axis].reduce(1, *)
      flattened = try c.reshape(x, [rows, dims[axis...].reduce(1, *)])
    } else {
      flattened = x
    }
    let along = c.opset < 13 ? 1 : axis
    let result: ValueID
    if log {
      let shifted = try c.emit(
        .sub, [flattened, try c.emit(.reduceMax, [flattened], ["axes": .ints([along]), "keepdims": .bool(true)])])
      let total = try c.emit(
        .reduceSum, [try c.emit(.exp, [shifted])], ["axes": .ints([along]), "keepdims": .bool(true)])
      result = try c.emit(.sub, [shifted, try c.emit(.log, [total])])
    } else {
      result = try c.emit(.softmax, [flattened], ["axis": .int(along)])
    }
    return try c.reshape(result, dims)
  }

  /// `Gemm`: `alpha * A' @ B' + beta * C` with `A'`, `B'` transposed when asked.
  private static func gemm(_ c: ImportContext) throws(ONNXError) -> [ValueID] {
    var a = try c.input(0)
    var b = try c.input(1)
    if c.int("transA", 0) != 0 { a = try c.emit(.transpose, [a], ["perm": .ints([1, 0])]) }
    if c.int("transB", 0) != 0 { b = try c.emit(.transpose, [b], ["perm": .ints([1, 0])]) }
    var result = try c.emit(.matmul, [a, b])
    let dtype = c.type(result).dtype
    let alpha = c.float("alpha", 1)
    if alpha != 1 { result = try c.emit(.mul, [result, c.scalar(alpha, dtype)]) }
    if var bias = try c.optionalInput(2) {
      let beta = c.float("beta", 1)
      if beta != 1 { bias = try c.emit(.mul, [bias, c.scalar(beta, dtype)]) }
      result = try c.emit(.add, [result, bias])
    }
    return [result]
  }
}

/// `LayerNormalization` and inference-mode `BatchNormalization`.
enum NormalizationOps {
  /// The handlers of this group, by ONNX op type.
  static let handlers: [String: OpHandler] = [
    "LayerNormalization": layerNorm,
    "BatchNormalization": batchNorm,
  ]

  /// Normalises over the axes from `axis` on: Tessera's `layer_norm` over the last axis, with
  /// the trailing axes merged into one first when there are several.
  private static func layerNorm(_ c: ImportContext) throws(ONNXError) -> [ValueID] {
    let x = try c.input(0)
    let dims = c.type(x).shape.dims
    let axis = try c.axis(c.int("axis", -1), rank: dims.count)
    let inner = dims[axis...].reduce(1, *)
    var operands = [try c.reshape(x, Array(dims[..<axis]) + [inner])]
    for index in 1...2 {
      guard let parameter = try c.optionalInput(index) else { break }
      let shape = c.type(parameter).shape
      guard shape.count == inner, Shape.broadcast(Shape(Array(dims[axis...])), shape) == Shape(Array(dims[axis...]))
      else {
        throw c.failure(
          "input \(index) of \(c.type(parameter)) does not match the normalised dims \(Array(dims[axis...]))")
      }
      operands.append(try c.reshape(parameter, [inner]))
    }
    let epsilon = c.float("epsilon", 1e-5)
    let normalized = try c.emit(.layerNorm, operands, ["axis": .int(-1), "epsilon": .float(epsilon)])
    guard c.node.outputs.count > 1 else { return [try c.reshape(normalized, dims)] }
    // The optional Mean and InvStdDev outputs, reduced with the normalised axes kept as 1.
    let axes: Attributes = ["axes": .ints(Array(axis..<dims.count)), "keepdims": .bool(true)]
    let mean = try c.emit(.reduceMean, [x], axes)
    let centred = try c.emit(.sub, [x, mean])
    let variance = try c.emit(.reduceMean, [try c.emit(.mul, [centred, centred])], axes)
    let inverse = try c.emit(.rsqrt, [try c.emit(.add, [variance, c.scalar(epsilon, c.type(x).dtype)])])
    return [try c.reshape(normalized, dims), mean, inverse]
  }

  /// `(x - mean) / sqrt(var + epsilon) * scale + bias` with per-channel (axis 1) parameters.
  private static func batchNorm(_ c: ImportContext) throws(ONNXError) -> [ValueID] {
    guard c.int("training_mode", 0) == 0 else { throw c.failure("training_mode = 1 is not supported") }
    let x = try c.input(0)
    let rank = c.type(x).shape.rank
    guard rank >= 2 else { throw c.failure("needs an input of rank 2 or more, found \(c.type(x))") }
    let channels = c.type(x).shape.dims[1]
    var parameters: [ValueID] = []
    for index in 1...4 {
      let parameter = try c.input(index)
      guard c.type(parameter).shape.count == channels else {
        throw c.failure("input \(index) of \(c.type(parameter)) should hold \(channels) per-channel values")
      }
      parameters.append(try c.reshape(parameter, [channels] + [Int](repeating: 1, count: rank - 2)))
    }
    let dtype = c.type(x).dtype
    let epsilon = c.scalar(c.float("epsilon", 1e-5), dtype)
    let factor = try c.emit(
      .mul, [parameters[0], try c.emit(.rsqrt, [try c.emit(.add, [parameters[3], epsilon])])])
    let centred = try c.emit(.sub, [x, parameters[2]])
    return [try c.emit(.add, [try c.emit(.mul, [centred, factor]), parameters[1]])]
  }
}
