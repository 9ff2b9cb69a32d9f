import TesseraIR

/// `Conv`, `MaxPool`, `AveragePool`, `GlobalAveragePool`/`GlobalMaxPool` and `Pad`, onto
/// Tessera's `conv2d`, `max_pool2d`, `avg_pool2d`, reductions and `pad`. Inputs of rank 3 (one
/// spatial axis) are imported as rank 4 with a height of 1.
enum VisionOps {
  /// The handlers of this group, by ONNX op type.
  static let handlers: [String: OpHandler] = [
    "Conv": convolution,
    "MaxPool": { c in
      guard c.node.outputs.count == 1 else { throw c.failure("the Indices output is not supported") }
      return [try pool(c, .maxPool2d)]
    },
    "AveragePool": { c in [try pool(c, .avgPool2d)] },
    "GlobalAveragePool": { c in [try globalPool(c, .reduceMean)] },
    "GlobalMaxPool": { c in [try globalPool(c, .reduceMax)] },
    "Pad": pad,
  ]

  /// `Conv` with an optional per-output-channel bias added.
  private static func convolution(_ c: ImportContext) throws(ONNXError) -> [ValueID] {
    let x = try c.input(0)
    let w = try c.input(1)
    let spatial = try spatialDims(c, x)
    let kernel = Array(c.type(w).shape.dims.dropFirst(2))
    guard kernel.count == spatial.count else {
      throw c.failure("weights \(c.type(w)) do not have \(spatial.count) spatial dims like the input \(c.type(x))")
    }
    if let declared = c.ints("kernel_shape"), declared != kernel {
      throw c.failure("kernel_shape \(declared) differs from the weights' \(kernel)")
    }
    var attributes = try window(c, spatial: spatial, kernel: kernel, allowsCeilMode: false)
    attributes["groups"] = .int(c.int("group", 1))
    var result = try c.emit(.conv2d, [try planar(c, x), try planar(c, w)], attributes)
    if let bias = try c.optionalInput(2) {
      let channels = c.type(w).shape.dims[0]
      guard c.type(bias).shape.count == channels else {
        throw c.failure("bias \(c.type(bias)) should hold one value per output channel (\(channels))")
      }
      result = try c.emit(.add, [result, try c.reshape(bias, [channels, 1, 1])])
    }
    return [try c.reshape(result, outputDims(c, result, spatial: spatial.count))]
  }

  /// `MaxPool` or `AveragePool`.
  private static func pool(_ c: ImportContext, _ kind: OpKind) throws(ONNXError) -> ValueID {
    let x = try c.input(0)
    let spatial = try spatialDims(c, x)
    guard let kernel = c.ints("kernel_shape"), kernel.count == spatial.count else {
      throw c.failure("kernel_shape must give \(spatial.count) sizes, found \(c.ints("kernel_shape") ?? [])")
    }
    var attributes = try window(c, spatial: spatial, kernel: kernel, allowsCeilMode: true)
    attributes["kernel"] = .ints(spatial.count == 1 ? [1] + kernel : kernel)
    if kind == .avgPool2d { attributes["count_include_pad"] = .bool(c.int("count_include_pad", 0) != 0) }
    let result = try c.emit(kind, [try planar(c, x)], attributes)
    return try c.reshape(result, outputDims(c, result, spatial: spatial.count))
  }

  /// `GlobalAveragePool`/`GlobalMaxPool`: the mean or maximum over every spatial axis, kept as 1.
  private static func globalPool(_ c: ImportContext, _ kind: OpKind) throws(ONNXError) -> ValueID {
    let x = try c.input(0)
    let rank = c.type(x).shape.rank
    guard rank >= 3 else { throw c.failure("needs an input of rank 3 or more, found \(c.type(x))") }
    return try c.emit(kind, [x], ["axes": .ints(Array(2..<rank)), "keepdims": .bool(true)])
  }

  /// `Pad`: `pads` (and `constant_value`) as attributes before opset 11, as inputs (with the
  /// optional `axes` of opset 18) from then on.
  private static func pad(_ c: ImportContext) throws(ONNXError) -> [ValueID] {
    let x = try c.input(0)
    let rank = c.type(x).shape.rank
    let mode = c.string("mode", "constant")
    guard let padMode = PadMode(rawValue: mode) else { throw c.failure("mode '\(mode)' is not supported") }
    var pads: [Int]
    var value = 0.0
    if c.opset < 11 {
      pads = c.ints("pads") ?? []
      value = c.float("value", 0)
    } else {
      guard let given = try c.constantInts(1, "pads") else { throw c.failure("the pads input is missing") }
      pads = given
      if c.has(2) {
        guard let literal = try c.constantInput(2, "constant_value"), literal.shape.count == 1 else {
          throw c.failure("constant_value must be one value known at import time")
        }
        value = literal.doubles[0]
      }
      if let axes = c.has(3) ? try c.constantInts(3, "axes") : nil {
        let resolved = try c.axes(axes, rank: rank)
        guard pads.count == 2 * resolved.count else {
          throw c.failure("pads \(pads) should hold 2 × \(resolved.count) values for axes \(axes)")
        }
        var full = [Int](repeating: 0, count: 2 * rank)
        for (position, axis) in resolved.enumerated() {
          full[axis] = pads[position]
          full[rank + axis] = pads[resolved.count + position]
        }
        pads = full
      }
    }
    guard pads.allSatisfy({ $0 >= 0 }) else { throw c.failure("negative pads \(pads) are not supported") }
    var attributes: Attributes = ["pads": .ints(pads), "mode": .symbol(padMode.rawValue)]
    if value != 0 { attributes["value"] = .float(value) }
    return [try c.emit(.pad, [x], attributes)]
  }

  // MARK: - Shared

  /// The spatial dims of an NCW or NCHW input.
  private static func spatialDims(_ c: ImportContext, _ x: ValueID) throws(ONNXError) -> [Int] {
    let dims = c.type(x).shape.dims
    guard dims.count == 3 || dims.count == 4 else {
      throw c.failure("only 1-D and 2-D windows are supported; the input is \(c.type(x))")
    }
    return Array(dims.dropFirst(2))
  }

  /// A rank-3 tensor (NCW or OIW) with a height of 1 inserted; rank 4 as it is.
  private static func planar(_ c: ImportContext, _ x: ValueID) throws(ONNXError) -> ValueID {
    let dims = c.type(x).shape.dims
    return dims.count == 3 ? try c.reshape(x, [dims[0], dims[1], 1, dims[2]]) : x
  }

  /// The dims of a rank-4 result with the inserted height removed for one spatial axis.
  private static func outputDims(_ c: ImportContext, _ result: ValueID, spatial: Int) -> [Int] {
    let dims = c.type(result).shape.dims
    return spatial == 1 ? [dims[0], dims[1], dims[3]] : dims
  }

  /// `strides`, `dilations` and `pads` (explicit, or from `auto_pad`) for `conv2d` and the pools,
  /// plus `ceil_mode` where the op has it; every list given for two spatial axes.
  private static func window(_ c: ImportContext, spatial: [Int], kernel: [Int], allowsCeilMode: Bool)
    throws(ONNXError) -> Attributes
  {
    let count = spatial.count
    let strides = c.ints("strides") ?? [Int](repeating: 1, count: count)
    let dilations = c.ints("dilations") ?? [Int](repeating: 1, count: count)
    guard strides.count == count, dilations.count == count, strides.allSatisfy({ $0 >= 1 }),
      dilations.allSatisfy({ $0 >= 1 }), kernel.allSatisfy({ $0 >= 1 })
    else {
      throw c.failure("strides \(strides) and dilations \(dilations) must give \(count) values >= 1")
    }
    var begins: [Int]
    var ends: [Int]
    switch c.string("auto_pad", "NOTSET") {
    case "NOTSET":
      let pads = c.ints("pads") ?? [Int](repeating: 0, count: 2 * count)
      guard pads.count == 2 * count else { throw c.failure("pads \(pads) should hold \(2 * count) values") }
      (begins, ends) = (Array(pads.prefix(count)), Array(pads.suffix(count)))
    case "VALID":
      (begins, ends) = ([Int](repeating: 0, count: count), [Int](repeating: 0, count: count))
    case let same where same == "SAME_UPPER" || same == "SAME_LOWER":
      (begins, ends) = ([], [])
      for axis in 0..<count {
        let output = (spatial[axis] + strides[axis] - 1) / strides[axis]
        let extent = dilations[axis] * (kernel[axis] - 1) + 1
        let total = Swift.max((output - 1) * strides[axis] + extent - spatial[axis], 0)
        let smaller = total / 2
        begins.append(same == "SAME_UPPER" ? smaller : total - smaller)
        ends.append(total - begins[axis])
      }
    case let other:
      throw c.failure("auto_pad '\(other)' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID")
    }
    let twoD = { (values: [Int], filler: Int) in count == 1 ? [filler] + values : values }
    var attributes: Attributes = [
      "strides": .ints(twoD(strides, 1)), "dilations": .ints(twoD(dilations, 1)),
      "pads": .ints(twoD(begins, 0) + twoD(ends, 0)),
    ]
    if allowsCeilMode { attributes["ceil_mode"] = .bool(c.int("ceil_mode", 0) != 0) }
    return attributes
  }
}
