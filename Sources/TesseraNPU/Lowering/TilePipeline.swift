import TesseraCompiler
import TesseraIR

/// Emits the tiles of a ``TileExpression``: MTE2 loads the leaves (and FIXP the matmul tile),
/// the vector unit computes, MTE3 stores; two UB slot sets alternate so loads of tile u+1 and
/// the store of tile u-1 overlap the compute of tile u.
///
/// Flags per slot set p: mte2→vector and fixp→vector (inputs ready), vector→mte3 (result
/// ready), mte3→mte2 and mte3→fixp (the set is free again two tiles later).
struct TilePipeline {
  let expression: TileExpression
  let builder: ProgramBuilder
  let config: NPUConfig
  let emitter: TileEmitter
  /// The root's global-memory address and dtype.
  let output: (address: Int, dtype: DType, shape: Shape)
  /// Elements each axis of the iteration space advances in the root (its own strides, or
  /// permuted ones when the space is a transpose's operand).
  let outputStrides: [Int]
  /// Moves the matmul's part of a box from L0C to a UB address (FIXP), if there is a matmul.
  let readAccumulators: ((Box, Int) throws(NPUError) -> Void)?
  private(set) var tiles = 0

  init(
    expression: TileExpression, builder: ProgramBuilder, config: NPUConfig, graph: Graph,
    output: (address: Int, dtype: DType, shape: Shape), address: @escaping (ValueID) throws(NPUError) -> Int,
    readAccumulators: ((Box, Int) throws(NPUError) -> Void)?, outputStrides: [Int]? = nil
  ) {
    self.expression = expression
    self.builder = builder
    self.config = config
    emitter = TileEmitter(builder: builder, graph: graph, address: address)
    self.output = output
    self.outputStrides = outputStrides ?? output.shape.strides
    self.readAccumulators = readAccumulators
  }

  /// Elements one slot holds: UB split into two sets of `slots` slots, a whole number of
  /// 32-element blocks (so quantized tiles are whole blocks and slots 32-byte aligned).
  var capacity: Int { (config.ubBytes / (2 * expression.slots * 4)) / 32 * 32 }

  private var loadsFromGlobal: Bool {
    expression.instances.contains { if case .leaf = $0 { true } else { false } }
  }

  /// Boxes covering `shape` with at most `capacity` elements each, in row-major order.
  static func boxes(_ shape: Shape, capacity: Int) -> [Box] {
    let dims = shape.dims
    var inner = 1, split = dims.count - 1
    while split >= 0 && inner * dims[split] <= capacity {
      inner *= dims[split]
      split -= 1
    }
    guard split >= 0 else { return [dims.map { (0, $0) }] }
    let chunk = Swift.max(1, capacity / inner)
    var result: [Box] = []
    var prefix = [Int](repeating: 0, count: split)
    while true {
      for start in stride(from: 0, to: dims[split], by: chunk) {
        result.append(
          prefix.map { ($0, 1) } + [(start, Swift.min(chunk, dims[split] - start))]
            + dims[(split + 1)...].map { (0, $0) })
      }
      var axis = split - 1
      while axis >= 0 {
        prefix[axis] += 1
        if prefix[axis] < dims[axis] { break }
        prefix[axis] = 0
        axis -= 1
      }
      if axis < 0 { return result }
    }
  }

  /// Emits one tile.
  mutating func emit(_ box: Box) throws(NPUError) {
    let set = tiles % 2
    let count = box.reduce(1) { $0 * $1.count }
    let slotBytes = capacity * 4
    func slot(_ index: Int) -> Int { (set * expression.slots + index) * slotBytes }
    let fixp = readAccumulators != nil && expression.instances.contains(.core)
    let global = loadsFromGlobal
    if tiles >= 2 {
      if global { builder.waitFlag(.mte3, .mte2, set) }
      if fixp { builder.waitFlag(.mte3, .fixp, set) }
    }
    try emitter.loadLeaves(expression, box, slot: slot)
    if fixp, let index = expression.instances.firstIndex(of: .core) { try readAccumulators?(box, slot(index)) }
    if global { builder.setFlag(.mte2, .vector, set) }
    if fixp { builder.setFlag(.fixp, .vector, set) }
    if global { builder.waitFlag(.mte2, .vector, set) }
    if fixp { builder.waitFlag(.fixp, .vector, set) }
    try emitter.compute(expression, count: count, slot: slot)
    builder.setFlag(.vector, .mte3, set)
    builder.waitFlag(.vector, .mte3, set)
    try emitter.store(from: slot(expression.root), to: output.address, output.dtype, strides: outputStrides, box)
    if global { builder.setFlag(.mte3, .mte2, set) }
    if fixp { builder.setFlag(.mte3, .fixp, set) }
    tiles += 1
  }
}
