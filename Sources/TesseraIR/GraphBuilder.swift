/// Builds a ``Graph`` op by op with a Swift API that reads like the model:
///
/// ```swift
/// let b = GraphBuilder(name: "mlp")
/// let x = b.argument("x", .f32, [4, 64])
/// let w = b.argument("w", .f32, [64, 128])
/// let y = b.silu(b.matmul(x, w))
/// let graph = try b.finish(returning: [y])
/// ```
///
/// Each call infers its result type at once. A call with invalid operands records the error and
/// keeps going, so building code needs no `try`; ``finish(returning:)`` throws the first error,
/// naming the op and the value it defines.
public final class GraphBuilder {
  private var graph: Graph
  private var usedNames = Set<String>()
  private var nextAutoName = 0
  private var firstError: IRError?

  /// Starts an empty function called `name`.
  public init(name: String) {
    graph = Graph(name: name, values: [], arguments: [], nodes: [], results: [])
  }

  /// Adds a function parameter.
  public func argument(_ name: String, _ type: TensorType) -> ValueID {
    let id = newValue(name: name, type: type)
    graph.arguments.append(id)
    return id
  }

  /// Adds a function parameter of `dtype` and `shape`.
  public func argument(_ name: String, _ dtype: DType, _ shape: Shape) -> ValueID {
    argument(name, TensorType(dtype, shape))
  }

  /// The inferred type of a value built so far.
  public func type(of value: ValueID) -> TensorType { graph.type(of: value) }

  /// Adds any op; the typed helpers below call this.
  @discardableResult
  public func op(_ kind: OpKind, _ operands: [ValueID], attributes: Attributes = [:], name: String? = nil) -> ValueID {
    append(kind, operands, attributes: attributes, literal: nil, name: name)
  }

  /// Adds a constant holding `tensor`.
  public func constant(_ tensor: Tensor, name: String? = nil) -> ValueID {
    append(.constant, [], attributes: [:], literal: tensor, name: name)
  }

  /// Adds a scalar constant.
  public func constant(_ value: Double, _ dtype: DType = .f32, name: String? = nil) -> ValueID {
    constant(Tensor([value], shape: [], dtype: dtype), name: name)
  }

  /// Ends the function, verifies it and returns it; throws the first recorded error.
  public func finish(returning results: [ValueID]) throws(IRError) -> Graph {
    if let firstError { throw firstError }
    var finished = graph
    finished.results = results
    try Verifier.verify(finished)
    return finished
  }

  private func append(_ kind: OpKind, _ operands: [ValueID], attributes: Attributes, literal: Tensor?, name: String?)
    -> ValueID
  {
    let resultName = name ?? autoName()
    let type: TensorType
    do {
      type = try TypeInference.resultType(
        of: kind, operands: operands.map(graph.type(of:)), attributes: attributes, literal: literal)
    } catch {
      firstError = firstError ?? .invalidOp(function: graph.name, op: kind, value: resultName, message: error.message)
      type = operands.first.map(graph.type(of:)) ?? TensorType(.f32, [])
    }
    let id = newValue(name: resultName, type: type)
    graph.nodes.append(Node(kind: kind, operands: operands, attributes: attributes, result: id, literal: literal))
    return id
  }

  private func newValue(name: String, type: TensorType) -> ValueID {
    if !usedNames.insert(name).inserted {
      firstError =
        firstError ?? .invalidGraph(function: graph.name, message: "the name %\(name) is used for two values")
    }
    graph.values.append(Value(name: name, type: type))
    return ValueID(graph.values.count - 1)
  }

  private func autoName() -> String {
    while usedNames.contains(String(nextAutoName)) { nextAutoName += 1 }
    defer { nextAutoName += 1 }
    return String(nextAutoName)
  }
}

// MARK: - Typed helpers, one per op.

extension GraphBuilder {
  /// `a + b` with numpy broadcasting.
  public func add(_ a: ValueID, _ b: ValueID, name: String? = nil) -> ValueID { op(.add, [a, b], name: name) }
  /// `a - b`.
  public func sub(_ a: ValueID, _ b: ValueID, name: String? = nil) -> ValueID { op(.sub, [a, b], name: name) }
  /// `a * b`.
  public func mul(_ a: ValueID, _ b: ValueID, name: String? = nil) -> ValueID { op(.mul, [a, b], name: name) }
  /// `a / b` (floor division for integers, as numpy's `//`).
  public func div(_ a: ValueID, _ b: ValueID, name: String? = nil) -> ValueID { op(.div, [a, b], name: name) }
  /// Elementwise maximum.
  public func max(_ a: ValueID, _ b: ValueID, name: String? = nil) -> ValueID { op(.max, [a, b], name: name) }
  /// Elementwise minimum.
  public func min(_ a: ValueID, _ b: ValueID, name: String? = nil) -> ValueID { op(.min, [a, b], name: name) }
  /// `a ** b` (floats).
  public func pow(_ a: ValueID, _ b: ValueID, name: String? = nil) -> ValueID { op(.pow, [a, b], name: name) }

  /// Any one-operand elementwise op (`exp`, `tanh`, …).
  public func unary(_ kind: OpKind, _ x: ValueID, name: String? = nil) -> ValueID { op(kind, [x], name: name) }
  /// `-x`.
  public func neg(_ x: ValueID, name: String? = nil) -> ValueID { unary(.neg, x, name: name) }
  /// `|x|`.
  public func abs(_ x: ValueID, name: String? = nil) -> ValueID { unary(.abs, x, name: name) }
  /// `e^x`.
  public func exp(_ x: ValueID, name: String? = nil) -> ValueID { unary(.exp, x, name: name) }
  /// Natural logarithm.
  public func log(_ x: ValueID, name: String? = nil) -> ValueID { unary(.log, x, name: name) }
  /// Square root.
  public func sqrt(_ x: ValueID, name: String? = nil) -> ValueID { unary(.sqrt, x, name: name) }
  /// `1 / sqrt(x)`.
  public func rsqrt(_ x: ValueID, name: String? = nil) -> ValueID { unary(.rsqrt, x, name: name) }
  /// `1 / x`.
  public func reciprocal(_ x: ValueID, name: String? = nil) -> ValueID { unary(.reciprocal, x, name: name) }
  /// Hyperbolic tangent.
  public func tanh(_ x: ValueID, name: String? = nil) -> ValueID { unary(.tanh, x, name: name) }
  /// `1 / (1 + e^-x)`.
  public func sigmoid(_ x: ValueID, name: String? = nil) -> ValueID { unary(.sigmoid, x, name: name) }
  /// `x * sigmoid(x)`.
  public func silu(_ x: ValueID, name: String? = nil) -> ValueID { unary(.silu, x, name: name) }
  /// GELU, exact erf form, or the tanh approximation when `approximateTanh`.
  public func gelu(_ x: ValueID, approximateTanh: Bool = false, name: String? = nil) -> ValueID {
    op(.gelu, [x], attributes: approximateTanh ? ["approximate": .symbol("tanh")] : [:], name: name)
  }
  /// `max(x, 0)`.
  public func relu(_ x: ValueID, name: String? = nil) -> ValueID { unary(.relu, x, name: name) }
  /// Sine.
  public func sin(_ x: ValueID, name: String? = nil) -> ValueID { unary(.sin, x, name: name) }
  /// Cosine.
  public func cos(_ x: ValueID, name: String? = nil) -> ValueID { unary(.cos, x, name: name) }
  /// The Gauss error function.
  public func erf(_ x: ValueID, name: String? = nil) -> ValueID { unary(.erf, x, name: name) }

  /// Elementwise comparison giving `bool`.
  public func compare(_ kind: CompareKind, _ a: ValueID, _ b: ValueID, name: String? = nil) -> ValueID {
    op(.compare, [a, b], attributes: ["kind": .symbol(kind.rawValue)], name: name)
  }
  /// `np.where(condition, a, b)`.
  public func select(_ condition: ValueID, _ a: ValueID, _ b: ValueID, name: String? = nil) -> ValueID {
    op(.select, [condition, a, b], name: name)
  }
  /// Converts to `dtype`.
  public func cast(_ x: ValueID, to dtype: DType, name: String? = nil) -> ValueID {
    op(.cast, [x], attributes: ["to": .symbol(dtype.rawValue)], name: name)
  }

  /// A reduction over `axes` (all axes when `nil`).
  public func reduce(_ kind: OpKind, _ x: ValueID, axes: [Int]? = nil, keepdims: Bool = false, name: String? = nil)
    -> ValueID
  {
    var attributes: Attributes = keepdims ? ["keepdims": .bool(true)] : [:]
    if let axes { attributes["axes"] = .ints(axes) }
    return op(kind, [x], attributes: attributes, name: name)
  }
  /// Sum over `axes`.
  public func reduceSum(_ x: ValueID, axes: [Int]? = nil, keepdims: Bool = false, name: String? = nil) -> ValueID {
    reduce(.reduceSum, x, axes: axes, keepdims: keepdims, name: name)
  }
  /// Maximum over `axes`.
  public func reduceMax(_ x: ValueID, axes: [Int]? = nil, keepdims: Bool = false, name: String? = nil) -> ValueID {
    reduce(.reduceMax, x, axes: axes, keepdims: keepdims, name: name)
  }
  /// Mean over `axes`.
  public func reduceMean(_ x: ValueID, axes: [Int]? = nil, keepdims: Bool = false, name: String? = nil) -> ValueID {
    reduce(.reduceMean, x, axes: axes, keepdims: keepdims, name: name)
  }
  /// Index (i32) of the first maximum along `axis`.
  public func argmax(_ x: ValueID, axis: Int, keepdims: Bool = false, name: String? = nil) -> ValueID {
    var attributes: Attributes = ["axis": .int(axis)]
    if keepdims { attributes["keepdims"] = .bool(true) }
    return op(.argmax, [x], attributes: attributes, name: name)
  }

  /// numpy `a @ b`.
  public func matmul(_ a: ValueID, _ b: ValueID, name: String? = nil) -> ValueID { op(.matmul, [a, b], name: name) }

  /// Permutes axes (reverses them when `perm` is `nil`).
  public func transpose(_ x: ValueID, perm: [Int]? = nil, name: String? = nil) -> ValueID {
    op(.transpose, [x], attributes: perm.map { ["perm": .ints($0)] } ?? [:], name: name)
  }
  /// Reshapes to `shape` (one entry may be -1).
  public func reshape(_ x: ValueID, to shape: [Int], name: String? = nil) -> ValueID {
    op(.reshape, [x], attributes: ["shape": .ints(shape)], name: name)
  }
  /// `np.broadcast_to(x, shape)`.
  public func broadcast(_ x: ValueID, to shape: [Int], name: String? = nil) -> ValueID {
    op(.broadcast, [x], attributes: ["shape": .ints(shape)], name: name)
  }
  /// `x[start:end:step]` per axis.
  public func slice(_ x: ValueID, start: [Int], end: [Int], step: [Int]? = nil, name: String? = nil) -> ValueID {
    var attributes: Attributes = ["start": .ints(start), "end": .ints(end)]
    if let step { attributes["step"] = .ints(step) }
    return op(.slice, [x], attributes: attributes, name: name)
  }
  /// `np.concatenate(values, axis)`.
  public func concat(_ values: [ValueID], axis: Int, name: String? = nil) -> ValueID {
    op(.concat, values, attributes: ["axis": .int(axis)], name: name)
  }
  /// `np.take(table, indices, axis)` — an embedding lookup for `axis = 0`.
  public func gather(_ table: ValueID, _ indices: ValueID, axis: Int = 0, name: String? = nil) -> ValueID {
    op(.gather, [table, indices], attributes: ["axis": .int(axis)], name: name)
  }

  /// Softmax along `axis`.
  public func softmax(_ x: ValueID, axis: Int = -1, name: String? = nil) -> ValueID {
    op(.softmax, [x], attributes: ["axis": .int(axis)], name: name)
  }
  /// `x / sqrt(mean(x², axis) + epsilon) * weight`.
  public func rmsNorm(_ x: ValueID, weight: ValueID, axis: Int = -1, epsilon: Double = 1e-6, name: String? = nil)
    -> ValueID
  {
    op(.rmsNorm, [x, weight], attributes: ["axis": .int(axis), "epsilon": .float(epsilon)], name: name)
  }
  /// `(x - mean) / sqrt(var + epsilon) * weight + bias` along `axis`.
  public func layerNorm(
    _ x: ValueID, weight: ValueID? = nil, bias: ValueID? = nil, axis: Int = -1, epsilon: Double = 1e-5,
    name: String? = nil
  ) -> ValueID {
    precondition(bias == nil || weight != nil, "layerNorm: a bias needs a weight")
    return op(
      .layerNorm, [x] + [weight, bias].compactMap { $0 },
      attributes: ["axis": .int(axis), "epsilon": .float(epsilon)], name: name)
  }
  /// Rotary position embedding of `x` (`[seq, dim]` or `[…, seq, heads, dim]`) at `positions`.
  /// `neox` rotates the two halves of each head; otherwise adjacent pairs (GGUF llama layout).
  public func rope(_ x: ValueID, positions: ValueID, theta: Double = 10000, neox: Bool = false, name: String? = nil)
    -> ValueID
  {
    op(
      .rope, [x, positions], attributes: ["theta": .float(theta), "mode": .symbol(neox ? "neox" : "normal")], name: name
    )
  }
  /// Dequantizes a block-quantized tensor (any ``BlockFormat``) to `dtype`.
  public func dequantize(_ x: ValueID, to dtype: DType = .f32, name: String? = nil) -> ValueID {
    op(.dequantize, [x], attributes: dtype == .f32 ? [:] : ["to": .symbol(dtype.rawValue)], name: name)
  }
}
