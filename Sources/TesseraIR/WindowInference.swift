extension TypeInference {
  /// `conv2d %x, %w` (NCHW input, OIHW weights), `max_pool2d`/`avg_pool2d %x {kernel}` and
  /// `pad %x {pads}`.
  static func window(_ kind: OpKind, _ operands: [TensorType], _ attrs: AttributeReader) throws(InferenceFailure)
    -> TensorType
  {
    let x = operands[0]
    if kind == .pad { return try padded(x, attrs) }
    try requireFloat(x)
    guard x.shape.rank == 4 else { throw InferenceFailure("\(kind) needs an NCHW input of rank 4, found \(x)") }
    let dims = x.shape.dims
    var channels = dims[1]
    let kernel: [Int]
    if kind == .conv2d {
      let weights = operands[1]
      try requireSameDType(x, weights)
      guard weights.shape.rank == 4 else {
        throw InferenceFailure("conv2d needs OIHW weights of rank 4, found \(weights)")
      }
      let groups = try attrs.int("groups") ?? 1
      let (outputs, perGroup) = (weights.shape.dims[0], weights.shape.dims[1])
      guard groups >= 1, dims[1] % groups == 0, outputs % groups == 0 else {
        throw InferenceFailure(
          "groups = \(groups) must be >= 1 and divide the input channels (\(dims[1])) and the output channels (\(outputs))"
        )
      }
      guard perGroup * groups == dims[1] else {
        throw InferenceFailure(
          "weights \(weights) take \(perGroup) channels per group, but the input \(x) has \(dims[1]) in \(groups) group\(groups == 1 ? "" : "s")"
        )
      }
      channels = outputs
      kernel = Array(weights.shape.dims[2...])
    } else {
      kernel = try attrs.ints("kernel", required: true)!
    }
    let geometry = try WindowGeometry(input: x.shape, kernel: kernel, attributes: attrs)
    return TensorType(x.dtype, [dims[0], channels, geometry.height.output, geometry.width.output])
  }

  /// `pad %x {pads = [begin per axis…, end per axis…], mode, value}`.
  private static func padded(_ x: TensorType, _ attrs: AttributeReader) throws(InferenceFailure) -> TensorType {
    try requirePlain(x)
    let rank = x.shape.rank
    let pads = try attrs.ints("pads", required: true)!
    guard pads.count == 2 * rank, pads.allSatisfy({ $0 >= 0 }) else {
      throw InferenceFailure(
        "pads must be \(2 * rank) values >= 0 for \(x) (the begins of every axis, then the ends), found \(pads)")
    }
    let mode = PadMode(rawValue: try attrs.symbol("mode", allowed: PadMode.allCases.map(\.rawValue)) ?? "constant")!
    if let value = try attrs.float("value"), !x.dtype.isFloatingPoint, Int64(exactly: value) == nil {
      throw InferenceFailure("pad value \(value) is not an integer, as \(x.dtype) needs")
    }
    for (axis, size) in x.shape.dims.enumerated() where pads[axis] > 0 || pads[rank + axis] > 0 {
      if mode == .reflect, Swift.max(pads[axis], pads[rank + axis]) >= size {
        throw InferenceFailure("reflect pads of axis \(axis) must be smaller than its size \(size), found \(pads)")
      }
      if mode == .edge, size == 0 { throw InferenceFailure("edge pads axis \(axis), which is empty") }
    }
    let dims = x.shape.dims.indices.map { x.shape.dims[$0] + pads[$0] + pads[rank + $0] }
    return TensorType(x.dtype, Shape(dims))
  }
}
