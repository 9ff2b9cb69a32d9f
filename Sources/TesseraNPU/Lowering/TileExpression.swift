import TesseraCompiler
import TesseraIR

/// An affine function of the iteration coordinates: `constant + Σ coefficients[i] * c[i]`.
struct Affine: Hashable {
  var constant: Int
  var coefficients: [Int]

  /// Coordinate `axis` of a `rank`-D iteration space.
  static func axis(_ axis: Int, rank: Int) -> Affine {
    Affine(constant: 0, coefficients: (0..<rank).map { $0 == axis ? 1 : 0 })
  }
  static func zero(rank: Int) -> Affine { Affine(constant: 0, coefficients: [Int](repeating: 0, count: rank)) }
}

/// A fused group as a list of tile computations over an iteration space (the root's shape, or
/// a permutation of it): each instance is a graph value at affine coordinates. Movement ops
/// (transpose, broadcast, slice) only change coordinates, so values outside the group are read
/// by strided DMAs; quantized weights are read as raw blocks and dequantized by `vdeq`.
struct TileExpression {
  enum Source: Hashable {
    /// A value from global memory, read at these coordinates.
    case leaf(ValueID, [Affine])
    /// A constant broadcast to every lane.
    case splat(Float)
    /// The group's matmul or reduction result, which its lowering puts in this slot.
    case core
    /// A vector op over earlier instances.
    case op(OpKind, [Int], roundToHalf: Bool)
    /// A comparison of two earlier instances: lanes of 1.0 where it holds, else 0.0.
    case comparison(VectorComparison, Int, Int)
    /// The second instance where the first is not 0.0, else the third.
    case selection(Int, Int, Int)
  }

  private(set) var instances: [Source] = []
  private(set) var root = 0
  private var memo: [String: Int] = [:]
  private let graph: Graph
  private let members: Set<ValueID>
  private let defining: [ValueID: Int]
  private let rank: Int
  private let step: String

  /// The group's root over its own shape.
  init(_ group: FusedGroup, in graph: Graph, step: String) throws(NPUError) {
    let rank = graph.type(of: group.root).shape.rank
    try self.init(group, value: group.root, at: (0..<rank).map { Affine.axis($0, rank: rank) }, in: graph, step: step)
  }

  /// `value` (the root or a member of `group`) at `coordinates` over a `coordinates`-rank space;
  /// `value` itself may be outside the group (it is then the only leaf).
  init(_ group: FusedGroup, value: ValueID, at coordinates: [Affine], in graph: Graph, step: String)
    throws(NPUError)
  {
    self.graph = graph
    self.step = step
    members = Set(group.nodes.map { graph.nodes[$0].result })
    defining = graph.definingNode
    rank = coordinates.count
    root = try instance(value, coordinates)
  }

  /// Vector slots the tile computation needs (leaves, splats and ops each take one).
  var slots: Int { instances.count }

  private mutating func add(_ source: Source) -> Int {
    instances.append(source)
    return instances.count - 1
  }

  private mutating func instance(_ value: ValueID, _ coordinates: [Affine]) throws(NPUError) -> Int {
    let key = "\(value.index)@\(coordinates)"
    if let known = memo[key] { return known }
    let made = try make(value, coordinates)
    memo[key] = made
    return made
  }

  private mutating func make(_ value: ValueID, _ coordinates: [Affine]) throws(NPUError) -> Int {
    let type = graph.type(of: value)
    guard let index = defining[value], members.contains(value) else {
      _ = try TileEmitter.element(type.dtype, step: step)
      return add(.leaf(value, coordinates))
    }
    let node = graph.nodes[index]
    let operandShapes = node.operands.map { graph.type(of: $0).shape }
    switch node.kind {
    case .constant:
      let literal = node.literal!
      let values = literal.doubles
      guard let first = values.first, values.allSatisfy({ $0 == first }) else { return add(.leaf(value, coordinates)) }
      return add(.splat(Float(first)))
    case .matmul, .reduceSum, .reduceMax, .reduceMin, .reduceMean, .argmax:
      guard isIdentity(coordinates, type.shape) else {
        throw .unsupported(step: step, reason: "the \(node.kind) result is read through a movement op")
      }
      return add(.core)
    case .dequantize:
      let weight = graph.type(of: node.operands[0])
      guard isIdentity(coordinates, weight.shape) else {
        throw .unsupported(step: step, reason: "vdeq reads whole blocks: the weight is read through a movement op")
      }
      let blocks = add(.leaf(node.operands[0], coordinates))
      return add(.op(.dequantize, [blocks], roundToHalf: type.dtype == .f16))
    case .transpose:
      let perm = node.attributes.ints("perm") ?? Array((0..<type.shape.rank).reversed())
      var source = coordinates
      for (axis, from) in perm.enumerated() { source[from] = coordinates[axis] }
      return try instance(node.operands[0], source)
    case .broadcast:
      return try instance(node.operands[0], broadcast(coordinates, to: operandShapes[0]))
    case .slice:
      let start = node.attributes.ints("start")!
      let step = node.attributes.ints("step") ?? [Int](repeating: 1, count: start.count)
      let source = coordinates.indices.map { axis in
        Affine(
          constant: coordinates[axis].constant * step[axis] + start[axis],
          coefficients: coordinates[axis].coefficients.map { $0 * step[axis] })
      }
      return try instance(node.operands[0], source)
    case .cast where type.dtype == .f32:
      return try instance(node.operands[0], coordinates)
    case .compare:
      let kind = VectorComparison.allCases.first { "\($0)" == node.attributes.symbol("kind") }!
      let (a, b) = (
        try instance(node.operands[0], broadcast(coordinates, to: operandShapes[0])),
        try instance(node.operands[1], broadcast(coordinates, to: operandShapes[1]))
      )
      return add(.comparison(kind, a, b))
    case .select where type.dtype.isFloatingPoint:
      var operands: [Int] = []
      for (operand, shape) in zip(node.operands, operandShapes) {
        operands.append(try instance(operand, broadcast(coordinates, to: shape)))
      }
      return add(.selection(operands[0], operands[1], operands[2]))
    default:
      guard node.kind.isElementwise, type.dtype == .f32 || type.dtype == .f16,
        VectorLowering.binary[node.kind] != nil || VectorLowering.unary[node.kind] != nil
      else { throw .unsupported(step: step, reason: "no vector instruction computes \(node.kind) on \(type.dtype)") }
      var operands: [Int] = []
      for (operand, shape) in zip(node.operands, operandShapes) {
        operands.append(try instance(operand, broadcast(coordinates, to: shape)))
      }
      return add(.op(node.kind, operands, roundToHalf: type.dtype == .f16))
    }
  }

  /// Whether `coordinates` read a value of `shape` in iteration order (size-1 axes may be pinned).
  private func isIdentity(_ coordinates: [Affine], _ shape: Shape) -> Bool {
    shape.rank == rank
      && coordinates.indices.allSatisfy {
        coordinates[$0] == .axis($0, rank: rank) || (shape.dims[$0] == 1 && coordinates[$0] == .zero(rank: rank))
      }
  }

  /// numpy broadcasting: leading axes dropped, size-1 axes pinned to 0.
  private func broadcast(_ coordinates: [Affine], to shape: Shape) -> [Affine] {
    let offset = coordinates.count - shape.rank
    return (0..<shape.rank).map { shape.dims[$0] == 1 ? Affine.zero(rank: rank) : coordinates[$0 + offset] }
  }
}

/// The vector instructions behind each elementwise graph op.
enum VectorLowering {
  static let binary: [OpKind: VectorBinary] = [
    .add: .add, .sub: .sub, .mul: .mul, .div: .div, .max: .max, .min: .min, .pow: .pow,
  ]
  static let unary: [OpKind: VectorUnary] = [
    .neg: .neg, .abs: .abs, .exp: .exp, .log: .ln, .sqrt: .sqrt, .rsqrt: .rsqrt, .reciprocal: .rec, .tanh: .tanh,
    .sin: .sin, .cos: .cos, .erf: .erf, .relu: .relu, .cast: .round16,
  ]
}
