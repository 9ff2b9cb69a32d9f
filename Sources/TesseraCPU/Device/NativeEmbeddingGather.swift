import TesseraCompiler
import TesseraIR
import TesseraRuntime

/// A group that looks rows up in a table (an embedding lookup): `gather(table, indices)` along
/// axis 0 with i32 or i64 indices, followed by the elementwise chain of a
/// ``NativeGatherEpilogue`` (BERT's `+ position + token type`, Gemma's `· √d`), each row finished
/// while it is in cache. The table is f32 (rows are copied), `dequantize(w)` of a rank-2
/// block-quantized `w` whose rows are whole blocks, or `cast(w)` to f32 of an f16 or bf16 `w`:
/// then only the gathered rows are decoded (by the format's ``BlockDecoder``, or widened), so a
/// lookup costs its rows, not the whole table (a 262144-row table was decoded whole every step
/// before). The `dequantize` or `cast` may be in the group or in a group of its own; that group
/// is then needed only if something else reads the decoded table.
struct NativeEmbeddingGather: Sendable {
  /// Where the rows come from.
  enum Table: Sendable {
    /// An f32 value: rows are copied.
    case f32(ValueID)
    /// `dequantized = dequantize(weight)` of a block-quantized weight: rows are decoded.
    case quantized(weight: ValueID, dequantized: ValueID, format: BlockFormat)
    /// `widened = cast(weight)` of an f16 or bf16 weight: rows are widened.
    case widened(weight: ValueID, widened: ValueID, dtype: DType)

    /// The value the rows are read from: the f32 table, or the weight rows are decoded from.
    var source: ValueID {
      switch self {
      case .f32(let table): table
      case .quantized(let weight, _, _), .widened(let weight, _, _): weight
      }
    }

    /// The decoded table the graph names (`dequantize(w)`, `cast(w)`), where rows are decoded.
    var decoded: ValueID? {
      switch self {
      case .f32: nil
      case .quantized(_, let dequantized, _): dequantized
      case .widened(_, let widened, _): widened
      }
    }
  }

  let table: Table
  let indices: ValueID
  let indexDType: DType
  /// The table's rows, the elements of each row, and how many indices are looked up.
  let rows: Int, columns: Int, count: Int
  /// The result's last axis: the epilogue walks rows of this length (`columns` is a multiple).
  let width: Int
  let epilogue: NativeGatherEpilogue
  /// The gather's result, named in the error an index out of range raises.
  let resultName: String

  /// Recognises `group`, or returns nil; `producers` maps each value to its defining node.
  init?(_ group: FusedGroup, in graph: Graph, producers: [ValueID: Int]) {
    let nodes = group.nodes.map { graph.nodes[$0] }
    let inside = Set(nodes.map(\.result))
    guard let gather = nodes.first(where: { $0.kind == .gather }), !inside.contains(gather.operands[1]) else {
      return nil
    }
    let tableType = graph.type(of: gather.operands[0]), resultType = graph.type(of: gather.result)
    indexDType = graph.type(of: gather.operands[1]).dtype
    guard resultType.dtype == .f32, tableType.shape.rank >= 2, tableType.shape.count > 0,
      tableType.shape.normalizedAxis(gather.attributes.int("axis") ?? 0) == 0, indexDType == .i32 || indexDType == .i64
    else { return nil }
    var rest = nodes.filter { $0.result != gather.result }
    let producer = producers[gather.operands[0]].map { graph.nodes[$0] }
    if let dequantize = producer, dequantize.kind == .dequantize {
      let weightType = graph.type(of: dequantize.operands[0])
      guard let format = weightType.dtype.blockFormat, weightType.shape.rank == 2,
        weightType.shape.dims[1] % format.elements == 0
      else { return nil }
      table = .quantized(weight: dequantize.operands[0], dequantized: dequantize.result, format: format)
      rest.removeAll { $0.result == dequantize.result }
    } else if let cast = producer, let weight = graph.widenedSixteenBitOperand(of: cast) {
      table = .widened(weight: weight, widened: cast.result, dtype: graph.type(of: weight).dtype)
      rest.removeAll { $0.result == cast.result }
    } else {
      guard tableType.dtype == .f32, !inside.contains(gather.operands[0]) else { return nil }
      table = .f32(gather.operands[0])
    }
    guard let epilogue = NativeGatherEpilogue(rest, after: gather.result, root: group.root, in: graph) else {
      return nil
    }
    self.epilogue = epilogue
    indices = gather.operands[1]
    rows = tableType.shape.dims[0]
    columns = tableType.shape.count / rows
    count = graph.type(of: indices).shape.count
    width = tableType.shape.dims.last!
    resultName = graph[gather.result].name
  }

  /// What its rows are stored as (`f32`, `q4_0`…), for profiles.
  var rowFormat: String {
    switch table {
    case .f32: "f32"
    case .quantized(_, _, let format): "\(format)"
    case .widened(_, _, let dtype): "\(dtype)"
    }
  }

  /// Copies or decodes the rows `pointer(indices)` names into `output` (`count × columns` f32)
  /// and applies the epilogue. Negative indices count from the end; an index still outside the
  /// table fails the run before anything is written, with the reference evaluator's error.
  func run(output: UnsafeMutableRawPointer, pointer: (ValueID) -> UnsafeMutableRawPointer, pool: CPUThreadPool)
    throws(DeviceError)
  {
    let memory = GatherPointers(
      indices: UnsafeRawPointer(pointer(indices)), output: output.assumingMemoryBound(to: Float.self),
      sources: epilogue.sources(pointer))
    for position in 0..<count {
      let index = memory.index(at: position, indexDType)
      guard (-rows..<rows).contains(index) else {
        throw .execution(
          op: .gather, value: resultName, message: "index \(index) is out of range for axis 0 of size \(rows)")
      }
    }
    let (rows, columns, width, epilogue, indexDType) = (rows, columns, width, epilogue, indexDType)
    let widthRows = columns / width
    let copy = RowSource(table, pointer: pointer, columns: columns)
    pool.forEachChunk(of: count, grain: Swift.max(1, 16384 / columns)) { range in
      var decoder = copy.decoder
      for position in range {
        let index = memory.index(at: position, indexDType)
        let target = memory.output + position * columns
        copy.row(index < 0 ? index + rows : index, into: target, decoder: &decoder)
        guard !epilogue.isEmpty else { continue }
        for part in 0..<widthRows {
          let row = position * widthRows + part
          epilogue.apply(row: row, width: width, out: target + part * width, sources: memory.sources)
        }
      }
    }
  }
}

/// Where a lookup's rows come from, resolved to memory: the f32 table, the quantized weight or
/// the 16-bit float weight. `@unchecked Sendable`: the table is only read.
private struct RowSource: @unchecked Sendable {
  let base: UnsafeRawPointer
  let format: BlockFormat?
  /// f16 or bf16 for a widened table.
  let halves: DType?
  let columns: Int

  init(_ table: NativeEmbeddingGather.Table, pointer: (ValueID) -> UnsafeMutableRawPointer, columns: Int) {
    switch table {
    case .f32(let value): (base, format, halves) = (UnsafeRawPointer(pointer(value)), nil, nil)
    case .quantized(let weight, _, let format):
      (base, self.format, halves) = (UnsafeRawPointer(pointer(weight)), format, nil)
    case .widened(let weight, _, let dtype): (base, format, halves) = (UnsafeRawPointer(pointer(weight)), nil, dtype)
    }
    self.columns = columns
  }

  /// A decoder of the blocks, for a quantized table.
  var decoder: BlockDecoder? { format.map(BlockDecoder.init) }

  /// Writes row `row` (in range) as f32 to `target`.
  @inline(__always)
  func row(_ row: Int, into target: UnsafeMutablePointer<Float>, decoder: inout BlockDecoder?) {
    if let halves {
      widen(row, halves, into: target)
      return
    }
    guard let format else {
      target.update(from: base.assumingMemoryBound(to: Float.self) + row * columns, count: columns)
      return
    }
    let blocks = columns / format.elements
    let source = base + row * blocks * format.bytes
    for block in 0..<blocks {
      decoder!.decode(source + block * format.bytes, into: target + block * format.elements)
    }
  }

  /// Row `row` of an f16 or bf16 table widened to f32 (exact).
  private func widen(_ row: Int, _ dtype: DType, into target: UnsafeMutablePointer<Float>) {
    let source = base + row * columns * 2
    if dtype == .f16 {
      let values = source.assumingMemoryBound(to: Float16.self)
      for column in 0..<columns { target[column] = Float(values[column]) }
    } else {
      let bits = source.assumingMemoryBound(to: UInt16.self)
      for column in 0..<columns { target[column] = Float(bitPattern: UInt32(bits[column]) << 16) }
    }
  }
}

/// The indices, result and epilogue operands a parallel lookup shares (each chunk writes its own
/// rows; the rest is only read).
private struct GatherPointers: @unchecked Sendable {
  let indices: UnsafeRawPointer
  let output: UnsafeMutablePointer<Float>
  let sources: [UnsafePointer<Float>?]

  /// Index `position`, read as `dtype` (i32 or i64).
  @inline(__always)
  func index(at position: Int, _ dtype: DType) -> Int {
    dtype == .i64
      ? Int(indices.loadUnaligned(fromByteOffset: position * 8, as: Int64.self))
      : Int(indices.loadUnaligned(fromByteOffset: position * 4, as: Int32.self))
  }
}
