import Foundation
import TesseraIR

/// Emits the KIR that computes a fused group's values at given output coordinates.
///
/// Every value is produced at a list of coordinates (one i32 per axis of the value's shape):
/// an elementwise node asks its operands at the same coordinates (numpy broadcasting drops
/// leading axes and pins size-1 axes to 0), a transpose permutes them, a slice scales and
/// offsets them, a gather loads the index first. Values outside the group are loaded from their
/// buffers; splat constants become KIR constants. Results are memoised per coordinates within
/// the current control-flow scope.
final class GroupEmitter {
  let graph: Graph
  let builder: KernelBuilder
  private let members: Set<ValueID>
  private let definingNode: [ValueID: Int]
  private(set) var inputs: [ValueID] = []
  private var buffers: [BufferKey: KBufferRef] = [:]
  private var scopes: [[MemoKey: KExpr]] = [[:]]

  /// A declared buffer parameter: the value it binds, and the copy of it that it reads.
  private struct BufferKey: Hashable {
    var value: ValueID
    var interleave: KRowInterleave?
  }

  /// What a scope remembers: a graph value at coordinates (KIR value ids), or an i32 constant.
  private enum MemoKey: Hashable {
    case value(Int, [Int])
    case index(Int)
  }

  /// `definingNode` is the graph's ``Graph/definingNode``, computed once per graph by the caller
  /// (rebuilding it for every group made kernel generation quadratic in the graph's size).
  init(graph: Graph, group: FusedGroup, builder: KernelBuilder, definingNode: [ValueID: Int]) {
    self.graph = graph
    self.builder = builder
    members = Set(group.nodes.map { graph.nodes[$0].result })
    self.definingNode = definingNode
  }

  /// A buffer parameter for `value`, declared on first use (read access); with `interleave`, one
  /// bound to the device's copy of the block-quantized `value` with rows interleaved as it says
  /// (``KRowInterleave``).
  func buffer(for value: ValueID, interleave: KRowInterleave? = nil) -> KBufferRef {
    let key = BufferKey(value: value, interleave: interleave)
    if let existing = buffers[key] { return existing }
    let reference = builder.buffer("in\(inputs.count)", graph.type(of: value).dtype, .read, interleave: interleave)
    inputs.append(value)
    buffers[key] = reference
    return reference
  }

  /// An i32 constant, shared within the current scope.
  func index(_ value: Int) -> KExpr {
    let memoKey = MemoKey.index(value)
    for scope in scopes.reversed() {
      if let known = scope[memoKey] { return known }
    }
    let made = builder.i32(value)
    scopes[scopes.count - 1][memoKey] = made
    return made
  }

  /// Runs `body` in a nested scope: values memoised inside are forgotten afterwards.
  func scoped(_ body: () -> Void) {
    scopes.append([:])
    body()
    scopes.removeLast()
  }

  /// Records that `value` at `coordinates` is already computed (a reduction or matmul result).
  func define(_ value: ValueID, at coordinates: [KExpr], as expression: KExpr) {
    scopes[scopes.count - 1][key(value, coordinates)] = expression
  }

  /// The flat C-order index of `coordinates` in `shape`.
  func linear(_ coordinates: [KExpr], in shape: Shape) -> KExpr {
    var total: KExpr?
    for (axis, stride) in shape.strides.enumerated() where shape.dims[axis] != 1 {
      let term = stride == 1 ? coordinates[axis] : coordinates[axis] * index(stride)
      total = total.map { $0 + term } ?? term
    }
    return total ?? index(0)
  }

  /// The coordinates of flat index `flat` in `shape`.
  func coordinates(of flat: KExpr, in shape: Shape) -> [KExpr] {
    shape.strides.enumerated().map { axis, stride in
      if shape.dims[axis] == 1 { return index(0) }
      let quotient = stride == 1 ? flat : flat / index(stride)
      return axis == 0 ? quotient : quotient % index(shape.dims[axis])
    }
  }

  /// Coordinates of a numpy-broadcast operand of `shape` for an element at `coordinates`.
  func broadcast(_ coordinates: [KExpr], to shape: Shape) -> [KExpr] {
    let offset = coordinates.count - shape.rank
    return (0..<shape.rank).map { shape.dims[$0] == 1 ? index(0) : coordinates[$0 + offset] }
  }

  /// The value of `id` at `coordinates`.
  func value(_ id: ValueID, at coordinates: [KExpr]) -> KExpr {
    let memoKey = key(id, coordinates)
    for scope in scopes.reversed() {
      if let known = scope[memoKey] { return known }
    }
    let result = compute(id, coordinates)
    scopes[scopes.count - 1][memoKey] = result
    return result
  }

  private func key(_ id: ValueID, _ coordinates: [KExpr]) -> MemoKey {
    .value(id.index, coordinates.map(\.value.id))
  }

  /// Whether ``vector(_:at:axis:lanes:)`` can load `lanes` consecutive elements of `id` along
  /// `axis` as one vector: `id` (or the value a transpose in the group reads) is an f32 or f16
  /// buffer read as it is whose elements along that axis are adjacent, and the axis holds whole
  /// vectors.
  func isVectorizable(_ id: ValueID, axis: Int, lanes: Int) -> Bool {
    if let node = member(defining: id) {
      guard node.kind == .transpose, let perm = node.attributes.ints("perm") else { return false }
      return isVectorizable(node.operands[0], axis: perm[axis], lanes: lanes)
    }
    let type = graph.type(of: id)
    return isLoadedFromBuffer(id) && (type.dtype == .f32 || type.dtype == .f16) && type.shape.strides[axis] == 1
      && type.shape.dims[axis] % lanes == 0
  }

  /// `lanes` elements of `id` from `coordinates` along `axis` (whose coordinate there is a
  /// multiple of `lanes`) as one f32 vector, where ``isVectorizable(_:axis:lanes:)``.
  func vector(_ id: ValueID, at coordinates: [KExpr], axis: Int, lanes: Int) -> KExpr {
    if let node = member(defining: id) {
      let perm = node.attributes.ints("perm")!
      var source = coordinates
      for (axis, from) in perm.enumerated() { source[from] = coordinates[axis] }
      return vector(node.operands[0], at: source, axis: perm[axis], lanes: lanes)
    }
    let values = buffer(for: id).load(linear(coordinates, in: graph.type(of: id).shape), lanes: lanes)
    return graph.type(of: id).dtype == .f32 ? values : values.cast(.f32)
  }

  /// Whether `id` is read from its buffer as it is (neither computed in the group nor a splat
  /// constant), so that a kernel may load it directly, several consecutive elements at a time.
  func isLoadedFromBuffer(_ id: ValueID) -> Bool {
    splatValue(of: id) == nil && !(members.contains(id) && definingNode[id] != nil)
  }

  /// The group's node that computes `id`, or `nil` where the group reads it from outside.
  func member(defining id: ValueID) -> Node? {
    guard members.contains(id), let index = definingNode[id] else { return nil }
    return graph.nodes[index]
  }

  /// The value of every element of `id` where it is a splat constant.
  private func splatValue(of id: ValueID) -> Double? {
    guard let nodeIndex = definingNode[id], let literal = graph.nodes[nodeIndex].literal, Fusion.isSplat(literal)
    else { return nil }
    return literal.doubles.first ?? 0
  }

  private func compute(_ id: ValueID, _ coordinates: [KExpr]) -> KExpr {
    let type = graph.type(of: id)
    if let splat = splatValue(of: id) { return builder.constant(splat, KType(type.dtype)) }
    guard !isLoadedFromBuffer(id), let nodeIndex = definingNode[id] else {
      return buffer(for: id)[linear(coordinates, in: type.shape)]
    }
    let node = graph.nodes[nodeIndex]
    let operandTypes = node.operands.map(graph.type(of:))
    switch node.kind {
    case .transpose:
      let perm = node.attributes.ints("perm") ?? Array((0..<type.shape.rank).reversed())
      var source = [KExpr](repeating: index(0), count: perm.count)
      for (axis, from) in perm.enumerated() { source[from] = coordinates[axis] }
      return value(node.operands[0], at: source)
    case .broadcast:
      return value(node.operands[0], at: broadcast(coordinates, to: operandTypes[0].shape))
    case .reshape:
      return value(
        node.operands[0], at: self.coordinates(of: linear(coordinates, in: type.shape), in: operandTypes[0].shape))
    case .slice:
      let start = node.attributes.ints("start")!
      let step = node.attributes.ints("step") ?? [Int](repeating: 1, count: start.count)
      let source = coordinates.indices.map { axis in
        (step[axis] == 1 ? coordinates[axis] : coordinates[axis] * index(step[axis])) + index(start[axis])
      }
      return value(node.operands[0], at: source)
    case .gather:
      return gather(node, operandTypes, coordinates)
    case .rope:
      return rope(node, operandTypes, coordinates)
    case .dequantize:
      let element = buffer(for: node.operands[0])[linear(coordinates, in: operandTypes[0].shape)]
      return element.cast(type.dtype)
    default:
      let operands = zip(node.operands, operandTypes).map { value($0, at: broadcast(coordinates, to: $1.shape)) }
      return ScalarOps.emit(node, operands, type.dtype, builder)
    }
  }

  /// Rotary embedding of the element at `coordinates`: it and its partner (the other element of
  /// its pair: adjacent in normal mode, half a head away in neox mode) rotated by
  /// `position * theta^(-2i/dim)`.
  private func rope(_ node: Node, _ operandTypes: [TensorType], _ coordinates: [KExpr]) -> KExpr {
    let shape = operandTypes[0].shape
    let dim = shape.dims.last!, last = shape.rank - 1
    let neox = node.attributes.symbol("mode") == "neox"
    let c = coordinates[last]
    let pair = neox ? c % index(dim / 2) : c / index(2)
    let isFirst = neox ? c.lt(index(dim / 2)) : (c % index(2)).compare(.eq, index(0))
    var partner = coordinates
    partner[last] = builder.select(isFirst, c + index(neox ? dim / 2 : 1), c - index(neox ? dim / 2 : 1))
    let (cosine, sine) = ropeRotation(node, pair: pair, at: coordinates)
    let x = value(node.operands[0], at: coordinates).cast(.f32)
    let y = value(node.operands[0], at: partner).cast(.f32)
    let rotated = builder.select(isFirst, x * cosine - y * sine, y * sine + x * cosine)
    return rotated.cast(operandTypes[0].dtype)
  }

  /// The cosine and sine of the angle by which the rope `node` turns pair `pair` of the element
  /// at `coordinates`: `position · theta^(-2·pair/dim)`, the position that of the element's row.
  func ropeRotation(_ node: Node, pair: KExpr, at coordinates: [KExpr]) -> (cosine: KExpr, sine: KExpr) {
    let shape = graph.type(of: node.operands[0]).shape
    let theta = node.attributes.double("theta") ?? 10000
    let position = value(node.operands[1], at: [coordinates[TypeInference.ropeSequenceAxis(rank: shape.rank)]]).cast(
      .f32)
    // theta^(-2i/dim) = exp(-2i/dim * ln theta)
    let frequency = builder.exp(pair.cast(.f32) * (-2 * log(theta) / Double(shape.dims.last!)))
    let angle = position * frequency
    return (builder.unary(.cos, angle), builder.unary(.sin, angle))
  }

  /// `np.take`: out-of-range indices are clamped (the reference evaluator reports them instead).
  private func gather(_ node: Node, _ operandTypes: [TensorType], _ coordinates: [KExpr]) -> KExpr {
    let table = operandTypes[0].shape, indices = operandTypes[1].shape
    let axis = table.normalizedAxis(node.attributes.int("axis") ?? 0)!
    let picked = value(node.operands[1], at: Array(coordinates[axis..<(axis + indices.rank)])).cast(.i32)
    let size = index(table.dims[axis])
    let wrapped = builder.select(picked.lt(index(0)), picked + size, picked)
    let clamped = builder.min(builder.max(wrapped, index(0)), index(table.dims[axis] - 1))
    let source = Array(coordinates[..<axis]) + [clamped] + Array(coordinates[(axis + indices.rank)...])
    return value(node.operands[0], at: source)
  }
}

/// The KIR for one elementwise graph op on operands already computed.
enum ScalarOps {
  static func emit(_ node: Node, _ operands: [KExpr], _ dtype: DType, _ k: KernelBuilder) -> KExpr {
    let x = operands[0]
    let isFloat = dtype.isFloatingPoint
    switch node.kind {
    case .add: return x + operands[1]
    case .sub: return x - operands[1]
    case .mul: return x * operands[1]
    case .div: return isFloat ? x / operands[1] : floorDivide(x, operands[1], k)
    case .max: return k.max(x, operands[1])
    case .min: return k.min(x, operands[1])
    case .pow: return x.binary(.pow, operands[1])
    case .neg: return k.unary(.neg, x)
    case .abs: return k.unary(.abs, x)
    case .exp, .log, .sqrt, .rsqrt, .reciprocal, .tanh, .sin, .cos, .erf:
      return k.unary(KUnaryOp(rawValue: node.kind.rawValue)!, x)
    case .sigmoid: return k.unary(.reciprocal, k.exp(k.unary(.neg, x)) + 1)
    case .silu: return x / (k.exp(k.unary(.neg, x)) + 1)
    case .gelu where node.attributes.symbol("approximate") == "tanh":
      let inner = (x + x * x * x * 0.044715) * (2 / Double.pi).squareRoot()
      return x * 0.5 * (k.unary(.tanh, inner) + 1)
    case .gelu: return x * 0.5 * (k.unary(.erf, x * (1 / 2.0.squareRoot())) + 1)
    case .relu: return k.max(x, x.literalZero())
    case .compare: return x.compare(CompareKind(rawValue: node.attributes.symbol("kind")!)!, operands[1])
    case .select: return k.select(x, operands[1], operands[2])
    case .cast: return x.cast(dtype)
    default: preconditionFailure("\(node.kind) is not a scalar op")
    }
  }

  /// numpy `//` on integers, with 0 for a zero divisor (as the reference evaluator).
  private static func floorDivide(_ a: KExpr, _ b: KExpr, _ k: KernelBuilder) -> KExpr {
    let zero = a.literalZero(), one = zero + 1
    let isZero = b.compare(.eq, zero)
    let divisor = k.select(isZero, one, b)
    let quotient = a / divisor
    let remainder = a - quotient * divisor
    let signsDiffer = remainder.compare(.ne, zero).and(a.lt(zero).compare(.ne, divisor.lt(zero)))
    return k.select(isZero, zero, k.select(signsDiffer, quotient - 1, quotient))
  }
}

extension KExpr {
  /// A zero of this value's scalar type.
  func literalZero() -> KExpr { literal(0) }
}
