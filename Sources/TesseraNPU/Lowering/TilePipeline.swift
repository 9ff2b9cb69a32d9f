import TesseraCompiler
import TesseraIR

/// A box of an iteration space: a start and a count per axis.
typealias Box = [(start: Int, count: Int)]

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
  /// Global-memory byte address of a graph value.
  let address: (ValueID) throws(NPUError) -> Int
  let graph: Graph
  /// The root's global-memory address and dtype.
  let output: (address: Int, dtype: DType, shape: Shape)
  /// Moves the matmul's part of a box from L0C to a UB address (FIXP), if there is a matmul.
  let readAccumulators: ((Box, Int) throws(NPUError) -> Void)?
  private(set) var tiles = 0

  init(
    expression: TileExpression, builder: ProgramBuilder, config: NPUConfig, graph: Graph,
    output: (address: Int, dtype: DType, shape: Shape), address: @escaping (ValueID) throws(NPUError) -> Int,
    readAccumulators: ((Box, Int) throws(NPUError) -> Void)?
  ) {
    self.expression = expression
    self.builder = builder
    self.config = config
    self.graph = graph
    self.output = output
    self.address = address
    self.readAccumulators = readAccumulators
  }

  /// Elements one slot holds: UB split into two sets of `slots` slots, 32-byte aligned.
  var capacity: Int { (config.ubBytes / (2 * expression.slots * 4)) / 8 * 8 }

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
    let fixp = readAccumulators != nil && expression.instances.contains(.matmul)
    let global = loadsFromGlobal
    if tiles >= 2 {
      if global { builder.waitFlag(.mte3, .mte2, set) }
      if fixp { builder.waitFlag(.mte3, .fixp, set) }
    }
    for (index, source) in expression.instances.enumerated() {
      switch source {
      case .leaf(let value, let coordinates):
        try load(value, coordinates, box, into: slot(index))
      case .matmul:
        try readAccumulators?(box, slot(index))
      default: continue
      }
    }
    if global { builder.setFlag(.mte2, .vector, set) }
    if fixp { builder.setFlag(.fixp, .vector, set) }
    if global { builder.waitFlag(.mte2, .vector, set) }
    if fixp { builder.waitFlag(.fixp, .vector, set) }
    // The register cache rotates through 19 registers, so the (at most four) operands fetched
    // for one instruction stay valid until it is emitted.
    for (index, source) in expression.instances.enumerated() {
      switch source {
      case .splat(let value):
        let d = try builder.register(slot(index))
        let bits = try builder.register(Int(Int32(bitPattern: value.bitPattern)))
        builder.emit(.vdup(d: d, bits: bits, n: try builder.register(count)))
      case .op(let kind, let operands, let roundToHalf):
        let d = try builder.register(slot(index))
        let a = try builder.register(slot(operands[0]))
        if let function = VectorLowering.binary[kind] {
          let b = try builder.register(slot(operands[1]))
          builder.emit(.vbinary(function, d: d, a: a, b: b, n: try builder.register(count)))
        } else {
          builder.emit(.vunary(VectorLowering.unary[kind]!, d: d, a: a, n: try builder.register(count)))
        }
        if roundToHalf && kind != .cast {
          let r = try builder.register(slot(index))
          builder.emit(.vunary(.round16, d: r, a: r, n: try builder.register(count)))
        }
      case .leaf, .matmul: continue
      }
    }
    builder.setFlag(.vector, .mte3, set)
    builder.waitFlag(.vector, .mte3, set)
    let strides = output.shape.strides
    let dims = box.indices.filter { box[$0].count > 1 }.map { (box[$0].count, strides[$0]) }
    let offset = box.indices.reduce(0) { $0 + box[$1].start * strides[$1] }
    try builder.dma(
      .ub2gm, .f32, try element(output.dtype), destination: output.address + offset * output.dtype.byteWidth!,
      source: slot(expression.root), dims: dims)
    if global { builder.setFlag(.mte3, .mte2, set) }
    if fixp { builder.setFlag(.mte3, .fixp, set) }
    tiles += 1
  }

  private func load(_ value: ValueID, _ coordinates: [Affine], _ box: Box, into destination: Int) throws(NPUError) {
    let type = graph.type(of: value)
    let strides = type.shape.strides
    var offset = 0
    for (axis, coordinate) in coordinates.enumerated() {
      offset +=
        strides[axis] * (coordinate.constant + zip(coordinate.coefficients, box).reduce(0) { $0 + $1.0 * $1.1.start })
    }
    let dims = box.indices.filter { box[$0].count > 1 }.map { axis in
      (box[axis].count, coordinates.indices.reduce(0) { $0 + strides[$1] * coordinates[$1].coefficients[axis] })
    }
    try builder.dma(
      .gm2ub, try element(type.dtype), .f32, destination: destination,
      source: try address(value) + offset * type.dtype.byteWidth!, dims: dims)
  }

  private func element(_ dtype: DType) throws(NPUError) -> NPUElement {
    switch dtype {
    case .f32: return .f32
    case .f16: return .f16
    default: throw .unsupported(step: builder.step, reason: "DMA does not carry \(dtype)")
    }
  }
}
