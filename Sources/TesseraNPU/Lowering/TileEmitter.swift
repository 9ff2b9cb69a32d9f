import TesseraCompiler
import TesseraIR

/// A box of an iteration space: a start and a count per axis.
typealias Box = [(start: Int, count: Int)]

/// The three steps every vector-unit tile shares: MTE2 loads a ``TileExpression``'s leaves for
/// a box into UB slots, the vector unit computes its splats and ops over the box's lanes, and
/// MTE3 stores a slot to a graph value. Flags are the caller's.
struct TileEmitter {
  let builder: ProgramBuilder
  let graph: Graph
  /// Global-memory byte address of a graph value.
  let address: (ValueID) throws(NPUError) -> Int

  /// Loads every leaf of `expression` for `box` into `slot(instance)`.
  func loadLeaves(_ expression: TileExpression, _ box: Box, slot: (Int) -> Int) throws(NPUError) {
    for (index, source) in expression.instances.enumerated() {
      guard case .leaf(let value, let coordinates) = source else { continue }
      try load(value, coordinates, box, into: slot(index))
    }
  }

  /// Computes the splats and ops of `expression` over `count` lanes.
  func compute(_ expression: TileExpression, count: Int, slot: (Int) -> Int) throws(NPUError) {
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
        if kind == .dequantize {
          let format = try format(operands[0], expression)
          builder.emit(
            .vdequant(format, d: d, a: a, blocks: try builder.register(count / format.blockElements)))
        } else if let function = VectorLowering.binary[kind] {
          let b = try builder.register(slot(operands[1]))
          builder.emit(.vbinary(function, d: d, a: a, b: b, n: try builder.register(count)))
        } else {
          builder.emit(.vunary(VectorLowering.unary[kind]!, d: d, a: a, n: try builder.register(count)))
        }
        if roundToHalf && kind != .cast { try round(slot(index), count: count) }
      case .comparison(let kind, let a, let b):
        let (d, x, y) = (
          try builder.register(slot(index)), try builder.register(slot(a)), try builder.register(slot(b))
        )
        builder.emit(.vcompare(kind, d: d, a: x, b: y, n: try builder.register(count)))
      case .selection(let mask, let a, let b):
        let d = try builder.register(slot(index))
        let (m, x, y) = (try builder.register(slot(mask)), try builder.register(slot(a)), try builder.register(slot(b)))
        builder.emit(.vselect(d: d, mask: m, a: x, b: y, n: try builder.register(count)))
      case .leaf, .core: continue
      }
    }
  }

  /// Rounds `count` lanes at `address` to fp16 in place.
  func round(_ address: Int, count: Int) throws(NPUError) {
    let r = try builder.register(address)
    builder.emit(.vunary(.round16, d: r, a: r, n: try builder.register(count)))
  }

  /// Stores the f32 lanes at `source` to the part `box` of a value of `shape` at `base`.
  func store(from source: Int, to base: Int, _ dtype: DType, _ shape: Shape, _ box: Box) throws(NPUError) {
    try store(from: source, to: base, dtype, strides: shape.strides, box)
  }

  /// Stores the f32 lanes at `source`, laid out as `box` of the iteration space, to global
  /// memory from `base`, where coordinate axis `i` advances `strides[i]` elements (a permuted
  /// store writes a transposed value).
  func store(from source: Int, to base: Int, _ dtype: DType, strides: [Int], _ box: Box) throws(NPUError) {
    let dims = box.indices.filter { box[$0].count > 1 }.map { (box[$0].count, strides[$0]) }
    let offset = box.indices.reduce(0) { $0 + box[$1].start * strides[$1] }
    try builder.dma(
      .ub2gm, .f32, try element(dtype), destination: base + offset * dtype.byteWidth!, source: source, dims: dims)
  }

  private func format(_ leaf: Int, _ expression: TileExpression) throws(NPUError) -> QuantFormat {
    guard case .leaf(let value, _) = expression.instances[leaf] else { preconditionFailure("vdeq reads a leaf") }
    return QuantFormat(graph.type(of: value).dtype)!
  }

  private func load(_ value: ValueID, _ coordinates: [Affine], _ box: Box, into destination: Int) throws(NPUError) {
    let type = graph.type(of: value)
    let strides = type.shape.strides
    var offset = 0
    for (axis, coordinate) in coordinates.enumerated() {
      offset +=
        strides[axis] * (coordinate.constant + zip(coordinate.coefficients, box).reduce(0) { $0 + $1.0 * $1.1.start })
    }
    if let block = type.dtype.quantBlock {
      // Whole blocks, contiguous: the expression only reads weights at identity coordinates.
      let count = box.reduce(1) { $0 * $1.count }
      guard offset % block.elements == 0, count % block.elements == 0 else {
        throw .unsupported(step: builder.step, reason: "a tile of \(count) elements is not whole \(type.dtype) blocks")
      }
      try builder.dma(
        .gm2ub, .i8, .i8, destination: destination, source: try address(value) + offset / block.elements * block.bytes,
        dims: [(count / block.elements * block.bytes, 1)])
      return
    }
    let dims = box.indices.filter { box[$0].count > 1 }.map { axis in
      (box[axis].count, coordinates.indices.reduce(0) { $0 + strides[$1] * coordinates[$1].coefficients[axis] })
    }
    try builder.dma(
      .gm2ub, try element(type.dtype), .f32, destination: destination,
      source: try address(value) + offset * type.dtype.byteWidth!, dims: dims)
  }

  func element(_ dtype: DType) throws(NPUError) -> NPUElement {
    try Self.element(dtype, step: builder.step)
  }

  /// The DMA element type that carries `dtype` by value to and from f32 lanes (`bool` as 0/1
  /// bytes; integers exact below 2^24).
  static func element(_ dtype: DType, step: String) throws(NPUError) -> NPUElement {
    switch dtype {
    case .f32: return .f32
    case .f16: return .f16
    case .i32: return .i32
    case .i8, .bool: return .i8
    default: throw .unsupported(step: step, reason: "DMA does not carry \(dtype)")
    }
  }
}
