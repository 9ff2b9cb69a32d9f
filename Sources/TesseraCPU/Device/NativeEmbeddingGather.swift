import TesseraCompiler
import TesseraIR

/// A group that looks rows up in a block-quantized table: `gather(dequantize(w), indices)` along
/// axis 0 of a rank-2 `w` whose rows are whole blocks, optionally times a splat constant (Gemma's
/// `√d` embedding scale). Only the gathered rows are decoded, by the format's ``BlockDecoder``, so
/// an embedding lookup costs its rows, not the whole table (a 262144-row table was decoded whole
/// every step before). The `dequantize` may be in the group or in a group of its own; that group
/// is then needed only if something else reads the dequantized table.
struct NativeEmbeddingGather: Sendable {
  let weight: ValueID
  let indices: ValueID
  /// The dequantized table the gather reads (the `dequantize`'s result).
  let table: ValueID
  let indexDType: DType
  let format: BlockFormat
  /// The table's rows and columns, and how many indices are looked up.
  let rows: Int, columns: Int, count: Int
  /// The splat constant the rows are multiplied by, if any.
  let scale: Float?

  /// Recognises `group`, or returns nil; `producers` maps each value to its defining node.
  init?(_ group: FusedGroup, in graph: Graph, producers: [ValueID: Int]) {
    let nodes = group.nodes.map { graph.nodes[$0] }
    guard let gather = nodes.first(where: { $0.kind == .gather }),
      let dequantizeIndex = producers[gather.operands[0]], graph.nodes[dequantizeIndex].kind == .dequantize
    else { return nil }
    let dequantize = graph.nodes[dequantizeIndex]
    let weightType = graph.type(of: dequantize.operands[0])
    let resultType = graph.type(of: gather.result)
    guard let format = weightType.dtype.blockFormat, weightType.shape.rank == 2,
      graph.type(of: dequantize.result).dtype == .f32, resultType.dtype == .f32,
      weightType.shape.dims[1] % format.elements == 0,
      weightType.shape.normalizedAxis(gather.attributes.int("axis") ?? 0) == 0
    else { return nil }
    indexDType = graph.type(of: gather.operands[1]).dtype
    guard indexDType == .i32 || indexDType == .i64 else { return nil }
    let literals = Dictionary(nodes.compactMap { node in node.literal.map { (node.result, $0) } }) { a, _ in a }
    let rest = nodes.filter { $0.result != gather.result && $0.result != dequantize.result && $0.literal == nil }
    switch rest.count {
    case 0 where group.root == gather.result:
      scale = nil
    case 1:
      let mul = rest[0]
      guard mul.kind == .mul, group.root == mul.result, graph.type(of: mul.result) == resultType,
        let other = mul.operands.first(where: { $0 != gather.result }), mul.operands.contains(gather.result),
        let literal = literals[other] ?? producers[other].flatMap({ graph.nodes[$0].literal }),
        !literal.dtype.isQuantized, Set(literal.doubles).count == 1
      else { return nil }
      scale = Float(literal.doubles[0])
    default:
      return nil
    }
    (weight, indices, table, self.format) = (dequantize.operands[0], gather.operands[1], dequantize.result, format)
    (rows, columns) = (weightType.shape.dims[0], weightType.shape.dims[1])
    count = graph.type(of: gather.operands[1]).shape.count
  }

  /// Decodes the rows `pointer(indices)` names into `output` (`count × columns` f32), scaled.
  /// Negative indices count from the end and others out of range are clamped, as the generated
  /// kernel does.
  func run(output: UnsafeMutableRawPointer, pointer: (ValueID) -> UnsafeMutableRawPointer, pool: CPUThreadPool) {
    let (format, rows, columns, scale, indexDType) = (format, rows, columns, scale, indexDType)
    let blocks = columns / format.elements
    let memory = GatherPointers(
      source: UnsafeRawPointer(pointer(weight)), indices: UnsafeRawPointer(pointer(indices)),
      output: output.assumingMemoryBound(to: Float.self))
    pool.forEachChunk(of: count, grain: Swift.max(1, 16384 / columns)) { range in
      var decoder = BlockDecoder(format)
      for position in range {
        let index =
          indexDType == .i64
          ? Int(memory.indices.loadUnaligned(fromByteOffset: position * 8, as: Int64.self))
          : Int(memory.indices.loadUnaligned(fromByteOffset: position * 4, as: Int32.self))
        let row = Swift.min(Swift.max(index < 0 ? index + rows : index, 0), rows - 1)
        let source = memory.source + row * blocks * format.bytes
        let target = memory.output + position * columns
        for block in 0..<blocks {
          decoder.decode(source + block * format.bytes, into: target + block * format.elements)
        }
        if let scale {
          for column in 0..<columns { target[column] *= scale }
        }
      }
    }
  }
}

/// The table, indices and result a parallel lookup shares (each chunk writes its own rows).
private struct GatherPointers: @unchecked Sendable {
  let source: UnsafeRawPointer
  let indices: UnsafeRawPointer
  let output: UnsafeMutablePointer<Float>
}
