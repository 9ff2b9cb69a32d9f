import TesseraIR
import TesseraRuntime

/// Builds random valid f32 graphs over the core ops for differential tests of the compiler: the
/// same seed gives the same graph and inputs on every machine.
///
/// Graphs mix unary and binary elementwise ops (numpy broadcasting between random shapes with
/// dims of 1 and odd sizes), constants (splats of 0 and 1 among them, so that simplification and
/// folding fire), reductions with and without `keepdims`, transpose, reshape, slice, concat,
/// matmul, compare/select, casts, composites (softmax, rms_norm, layer_norm, gelu, silu, sigmoid)
/// and repeats of earlier ops (so that CSE fires). Values stay small: inputs lie in `[-1, 1)`.
public struct RandomGraphGenerator {
  private var random: SeededRandom
  private var builder = GraphBuilder(name: "random")
  /// The f32 values built so far, operands for the next ops.
  private var pool: [ValueID] = []
  /// Every non-constant op built so far, for repeats.
  private var built: [(OpKind, [ValueID], Attributes)] = []
  private var argumentCount = 0

  /// Starts the sequence for `seed`.
  public init(seed: UInt64) { random = SeededRandom(seed: seed) }

  /// A graph of `operations` random steps (a step adds one to three ops) returning one or two
  /// values. Throws only if the generator itself builds an invalid op.
  public mutating func makeGraph(operations: Int = 10) throws -> Graph {
    builder = GraphBuilder(name: "random")
    pool = []
    built = []
    argumentCount = 0
    pool.append(argument(randomShape()))
    for _ in 0..<operations { step() }
    var results = [pool.last!]
    if Bool.random(using: &random), let other = pool.randomElement(using: &random), other != results[0] {
      results.append(other)
    }
    return try builder.finish(returning: results)
  }

  /// Random inputs for `graph`'s arguments, uniform in `[-1, 1)`.
  public mutating func inputs(for graph: Graph) -> [Tensor] {
    graph.argumentTypes.map { Tensor.random($0, using: &random) }
  }

  // MARK: - Steps

  /// Adds the next op, on the newest value half of the time so that chains grow deep.
  private mutating func step() {
    let x = Bool.random(using: &random) ? pool.last! : pool.randomElement(using: &random)!
    let shape = builder.type(of: x).shape
    switch Int.random(in: 0..<15, using: &random) {
    case 0, 1: unaryStep(x)
    case 2, 3, 4: binaryStep(x)
    case 5 where shape.rank >= 1: reductionStep(x)
    case 6 where shape.rank >= 2: transposeStep(x)
    case 7: reshapeStep(x)
    case 8 where shape.rank >= 1: compositeStep(x)
    case 9 where shape.rank >= 1: add(.matmul, [x, operand(Shape([shape.dims.last!, pick([1, 2, 3, 5])]))])
    case 10: selectStep(x)
    case 11 where shape.rank >= 1 && shape.count <= 128: concatStep(x)
    case 12 where shape.rank >= 1: sliceStep(x)
    case 13: castStep(x)
    default: repeatStep()
    }
  }

  private mutating func unaryStep(_ x: ValueID) {
    let kinds: [OpKind] = [.neg, .abs, .exp, .tanh, .sigmoid, .relu, .sin, .cos, .silu, .gelu, .erf]
    let kind = pick(kinds)
    let attributes: Attributes = kind == .gelu && Bool.random(using: &random) ? ["approximate": .symbol("tanh")] : [:]
    if kind == .neg && Bool.random(using: &random) {
      add(.neg, [add(.neg, [x])])
    } else {
      add(kind, [x], attributes)
    }
  }

  private mutating func binaryStep(_ x: ValueID) {
    let shape = builder.type(of: x).shape
    let kind = pick([OpKind.add, .sub, .mul, .max, .min, .div])
    if kind == .div {
      add(.div, [x, constant(broadcastable(to: shape), splat: pick([1, 2, 0.5, -4]))])
      return
    }
    let compatible = pool.filter { Shape.broadcast(builder.type(of: $0).shape, shape) != nil }
    let other =
      Bool.random(using: &random)
      ? compatible.randomElement(using: &random)! : operand(broadcastable(to: shape), identityFor: kind)
    add(kind, Bool.random(using: &random) ? [x, other] : [other, x])
  }

  private mutating func reductionStep(_ x: ValueID) {
    let rank = builder.type(of: x).shape.rank
    let kind = pick([OpKind.reduceSum, .reduceMax, .reduceMin, .reduceMean])
    let axes = Array((0..<rank).shuffled(using: &random).prefix(Int.random(in: 1...rank, using: &random)))
    var attributes: Attributes = Bool.random(using: &random) ? ["keepdims": .bool(true)] : [:]
    if axes.count < rank || Bool.random(using: &random) { attributes["axes"] = .ints(axes) }
    add(kind, [x], attributes)
  }

  private mutating func transposeStep(_ x: ValueID) {
    let rank = builder.type(of: x).shape.rank
    func perm(_ generator: inout SeededRandom) -> Attributes {
      Bool.random(using: &generator) ? [:] : ["perm": .ints(Array(0..<rank).shuffled(using: &generator))]
    }
    let once = add(.transpose, [x], perm(&random))
    if Bool.random(using: &random) { add(.transpose, [once], perm(&random)) }
  }

  private mutating func reshapeStep(_ x: ValueID) {
    let shape = builder.type(of: x).shape
    func target(_ generator: inout SeededRandom) -> [Int] {
      let count = shape.count
      let divisors = (1...count).filter { count % $0 == 0 }
      let first = divisors.randomElement(using: &generator)!
      switch Int.random(in: 0..<4, using: &generator) {
      case 0: return [count]
      case 1: return shape.dims
      case 2: return [first, -1]
      default: return [1, count / first, first]
      }
    }
    let once = add(.reshape, [x], ["shape": .ints(target(&random))])
    if Bool.random(using: &random) { add(.reshape, [once], ["shape": .ints(target(&random))]) }
  }

  private mutating func compositeStep(_ x: ValueID) {
    let shape = builder.type(of: x).shape
    let axis = Int.random(in: -shape.rank..<shape.rank, using: &random)
    switch Int.random(in: 0..<3, using: &random) {
    case 0: add(.softmax, [x], ["axis": .int(axis)])
    case 1:
      let weight = operand(broadcastable(to: shape, growing: false))
      add(.rmsNorm, [x, weight], ["axis": .int(axis), "epsilon": .float(1e-5)])
    default:
      let parameters = (0..<Int.random(in: 0...2, using: &random)).map { _ in
        operand(broadcastable(to: shape, growing: false))
      }
      add(.layerNorm, [x] + parameters, ["axis": .int(axis)])
    }
  }

  private mutating func selectStep(_ x: ValueID) {
    let shape = builder.type(of: x).shape
    let other = operand(broadcastable(to: shape))
    let kind = pick(CompareKind.allCases)
    let condition = add(.compare, [x, other], ["kind": .symbol(kind.rawValue)])
    add(.select, [condition, x, Bool.random(using: &random) ? other : constant(Shape([]), splat: 0)])
  }

  private mutating func concatStep(_ x: ValueID) {
    var dims = builder.type(of: x).shape.dims
    let axis = Int.random(in: 0..<dims.count, using: &random)
    dims[axis] = pick([1, 2, 3])
    add(.concat, Bool.random(using: &random) ? [x, x] : [operand(Shape(dims)), x], ["axis": .int(axis)])
  }

  private mutating func sliceStep(_ x: ValueID) {
    let dims = builder.type(of: x).shape.dims
    if Bool.random(using: &random) {
      add(.slice, [x], ["start": .ints(dims.map { _ in 0 }), "end": .ints(dims)])
      return
    }
    let start = dims.map { Int.random(in: 0..<$0, using: &random) }
    let end = zip(start, dims).map { Int.random(in: ($0 + 1)...$1, using: &random) }
    let step = dims.map { _ in Int.random(in: 1...2, using: &random) }
    add(.slice, [x], ["start": .ints(start), "end": .ints(end), "step": .ints(step)])
  }

  private mutating func castStep(_ x: ValueID) {
    let half = Bool.random(using: &random) ? add(.cast, [x], ["to": .symbol("f16")]) : x
    add(.cast, [half], ["to": .symbol("f32")])
  }

  private mutating func repeatStep() {
    guard let (kind, operands, attributes) = built.randomElement(using: &random) else { return }
    add(kind, operands, attributes)
  }

  // MARK: - Operands and shapes

  /// Adds an op; f32 results join the pool.
  @discardableResult
  private mutating func add(_ kind: OpKind, _ operands: [ValueID], _ attributes: Attributes = [:]) -> ValueID {
    let value = builder.op(kind, operands, attributes: attributes)
    built.append((kind, operands, attributes))
    if builder.type(of: value).dtype == .f32 { pool.append(value) }
    return value
  }

  /// A new argument or constant of `shape`; for `add`, `sub`, `mul` sometimes the op's identity.
  private mutating func operand(_ shape: Shape, identityFor kind: OpKind? = nil) -> ValueID {
    switch Int.random(in: 0..<4, using: &random) {
    case 0: return argument(shape)
    case 1 where kind == .mul: return constant(shape, splat: 1)
    case 1 where kind == .add || kind == .sub: return constant(shape, splat: 0)
    case 2:
      let values = (0..<shape.count).map { _ in Double.random(in: -1..<1, using: &random) }
      return pooled(builder.constant(Tensor(values, shape: shape)))
    default: return constant(shape, splat: pick([0, 1, 2]))
    }
  }

  private mutating func constant(_ shape: Shape, splat value: Double) -> ValueID {
    pooled(builder.constant(Tensor(repeating: value, shape: shape)))
  }

  private mutating func argument(_ shape: Shape) -> ValueID {
    argumentCount += 1
    return builder.argument("a\(argumentCount)", .f32, shape)
  }

  /// Constants join the pool so that later ops on them fold.
  private mutating func pooled(_ value: ValueID) -> ValueID {
    pool.append(value)
    return value
  }

  /// A shape that broadcasts with `shape`: leading dims dropped, some dims set to 1, and (when
  /// `growing`) sometimes a new leading dim that makes the result bigger.
  private mutating func broadcastable(to shape: Shape, growing: Bool = true) -> Shape {
    var dims = Array(shape.dims.dropFirst(Int.random(in: 0...shape.rank, using: &random)))
    for index in dims.indices where Int.random(in: 0..<3, using: &random) == 0 { dims[index] = 1 }
    if growing && shape.count <= 32 && Int.random(in: 0..<5, using: &random) == 0 && dims.count == shape.rank {
      dims.insert(pick([2, 3]), at: 0)
    }
    return Shape(dims)
  }

  private mutating func randomShape() -> Shape {
    Shape((0..<Int.random(in: 0...3, using: &random)).map { _ in pick([1, 2, 3, 5, 7]) })
  }

  private mutating func pick<T>(_ choices: [T]) -> T { choices.randomElement(using: &random)! }
}
