import TesseraIR

/// Elementwise ONNX ops: math, comparisons, logic, activations, `Where`, `Clip`, `Cast`.
enum ElementwiseOps {
  /// The handlers of this group, by ONNX op type.
  static let handlers: [String: OpHandler] = {
    var table: [String: OpHandler] = [:]
    let unary: [String: OpKind] = [
      "Abs": .abs, "Neg": .neg, "Exp": .exp, "Log": .log, "Sqrt": .sqrt, "Reciprocal": .reciprocal, "Tanh": .tanh,
      "Sigmoid": .sigmoid, "Relu": .relu, "Erf": .erf, "Sin": .sin, "Cos": .cos,
    ]
    for (name, kind) in unary { table[name] = { c in [try c.emit(kind, [try c.input(0)])] } }
    let binary: [String: OpKind] = ["Add": .add, "Sub": .sub, "Mul": .mul]
    for (name, kind) in binary {
      table[name] = { c in [try c.emit(kind, [try c.input(0), try c.input(1)])] }
    }
    table["Div"] = { c in [try c.onnxDivide(try c.input(0), try c.input(1))] }
    table["Pow"] = pow
    let comparisons: [String: CompareKind] = [
      "Equal": .eq, "Less": .lt, "LessOrEqual": .le, "Greater": .gt, "GreaterOrEqual": .ge,
    ]
    for (name, kind) in comparisons {
      table[name] = { c in
        [try c.emit(.compare, [try c.input(0), try c.input(1)], ["kind": .symbol(kind.rawValue)])]
      }
    }
    table["Not"] = { c in
      [
        try c.emit(
          .compare, [try c.input(0), c.constant(Tensor([0], shape: [], dtype: .bool))], ["kind": .symbol("eq")])
      ]
    }
    table["And"] = { c in
      [try c.emit(.select, [try c.input(0), try c.input(1), c.constant(Tensor([0], shape: [], dtype: .bool))])]
    }
    table["Or"] = { c in
      [try c.emit(.select, [try c.input(0), c.constant(Tensor([1], shape: [], dtype: .bool)), try c.input(1)])]
    }
    table["Xor"] = { c in
      [try c.emit(.compare, [try c.input(0), try c.input(1)], ["kind": .symbol("ne")])]
    }
    table["Where"] = { c in [try c.emit(.select, [try c.input(0), try c.input(1), try c.input(2)])] }
    table["Sum"] = { c in [try variadic(c, .add)] }
    table["Max"] = { c in [try variadic(c, .max)] }
    table["Min"] = { c in [try variadic(c, .min)] }
    table["Mean"] = { c in
      let sum = try variadic(c, .add)
      return [try c.emit(.div, [sum, c.scalar(Double(c.node.inputs.count), c.type(sum).dtype)])]
    }
    table["Clip"] = clip
    table["Cast"] = cast
    table["CastLike"] = { c in [try c.cast(try c.input(0), c.type(try c.input(1)).dtype)] }
    table["Identity"] = { c in [try c.input(0)] }
    table["Dropout"] = dropout
    for (name, handler) in ActivationOps.handlers { table[name] = handler }
    return table
  }()

  /// `Pow`: a float base; an exponent of another type is converted to the base's.
  private static func pow(_ c: ImportContext) throws(ONNXError) -> [ValueID] {
    let base = try c.input(0)
    guard c.type(base).dtype.isFloatingPoint else {
      throw c.failure("Pow of \(c.type(base).dtype) is not supported (Tessera's pow takes floats)")
    }
    return [try c.emit(.pow, [base, try c.cast(try c.input(1), c.type(base).dtype)])]
  }

  /// `Dropout` at inference: the input unchanged and a mask of all `true`; training mode (which
  /// draws random numbers) is declined.
  private static func dropout(_ c: ImportContext) throws(ONNXError) -> [ValueID] {
    let x = try c.input(0)
    let training = c.opset >= 12 ? try c.constantInput(2, "training_mode")?.element(at: 0) ?? 0 : 0
    guard training == 0 else {
      throw c.failure("training mode is not supported (its output is random)")
    }
    let mask = try c.emit(
      .broadcast, [c.constant(Tensor([1], shape: [], dtype: .bool))], ["shape": .ints(c.type(x).shape.dims)])
    return [x, mask]
  }

  /// `Sum`, `Max`, `Min` of any number of inputs, broadcasting.
  private static func variadic(_ c: ImportContext, _ kind: OpKind) throws(ONNXError) -> ValueID {
    let inputs = try c.allInputs()
    guard var result = inputs.first else { throw c.failure("needs at least one input") }
    for next in inputs.dropFirst() { result = try c.emit(kind, [result, next]) }
    return result
  }

  /// `Clip`: bounds from attributes before opset 11, from optional inputs since.
  private static func clip(_ c: ImportContext) throws(ONNXError) -> [ValueID] {
    var result = try c.input(0)
    let dtype = c.type(result).dtype
    let low: ValueID?
    let high: ValueID?
    if c.opset < 11 {
      low = c.node.attribute("min").map { c.scalar(Double($0.float), dtype) }
      high = c.node.attribute("max").map { c.scalar(Double($0.float), dtype) }
    } else {
      low = try c.optionalInput(1)
      high = try c.optionalInput(2)
    }
    if let low { result = try c.emit(.max, [result, low]) }
    if let high { result = try c.emit(.min, [result, high]) }
    return [result]
  }

  /// `Cast` to an element type Tessera has.
  private static func cast(_ c: ImportContext) throws(ONNXError) -> [ValueID] {
    let code = Int32(truncatingIfNeeded: c.int("to", 0))
    guard let dtype = ONNXDataType.dtype(code) else {
      throw c.failure("cannot cast to \(ONNXDataType.name(code)): Tessera supports \(ONNXDataType.supportedNames)")
    }
    return [try c.cast(try c.input(0), dtype)]
  }
}

/// Activation functions beyond Tessera's own unary ops, composed from them.
enum ActivationOps {
  /// The handlers of this group, by ONNX op type.
  static let handlers: [String: OpHandler] = [
    "Gelu": { c in
      let approximate = c.string("approximate", "none")
      guard approximate == "none" || approximate == "tanh" else {
        throw c.failure("approximate '\(approximate)' is neither 'none' nor 'tanh'")
      }
      return [try c.emit(.gelu, [try c.input(0)], approximate == "tanh" ? ["approximate": .symbol("tanh")] : [:])]
    },
    "LeakyRelu": { c in
      let x = try c.input(0)
      let scaled = try c.emit(.mul, [x, c.scalar(c.float("alpha", 0.01), c.type(x).dtype)])
      return [
        try c.emit(
          .select, [try c.emit(.compare, [x, c.scalar(0, c.type(x).dtype)], ["kind": .symbol("lt")]), scaled, x])
      ]
    },
    "Elu": { c in
      let x = try c.input(0)
      let dtype = c.type(x).dtype
      let negative = try c.emit(
        .mul, [try c.emit(.sub, [try c.emit(.exp, [x]), c.scalar(1, dtype)]), c.scalar(c.float("alpha", 1), dtype)])
      return [
        try c.emit(.select, [try c.emit(.compare, [x, c.scalar(0, dtype)], ["kind": .symbol("lt")]), negative, x])
      ]
    },
    "HardSigmoid": { c in
      [try hardSigmoid(c, try c.input(0), alpha: c.float("alpha", 0.2), beta: c.float("beta", 0.5))]
    },
    "HardSwish": { c in
      let x = try c.input(0)
      return [try c.emit(.mul, [x, try hardSigmoid(c, x, alpha: 1.0 / 6, beta: 0.5)])]
    },
    "Softplus": { c in
      let x = try c.input(0)
      return [try c.emit(.log, [try c.emit(.add, [try c.emit(.exp, [x]), c.scalar(1, c.type(x).dtype)])])]
    },
  ]

  /// `max(0, min(1, alpha * x + beta))`.
  private static func hardSigmoid(_ c: ImportContext, _ x: ValueID, alpha: Double, beta: Double) throws(ONNXError)
    -> ValueID
  {
    let dtype = c.type(x).dtype
    let linear = try c.emit(.add, [try c.emit(.mul, [x, c.scalar(alpha, dtype)]), c.scalar(beta, dtype)])
    return try c.emit(.max, [try c.emit(.min, [linear, c.scalar(1, dtype)]), c.scalar(0, dtype)])
  }
}
