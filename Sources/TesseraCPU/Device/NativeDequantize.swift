import TesseraCompiler
import TesseraIR

/// A group that is `dequantize(w)` to f32 of a block-quantized `w` whose rows are whole blocks,
/// alone or followed by the 2-D transpose every Llama weight takes: decoded a block at a time by
/// the format's ``BlockDecoder`` (its one description) on the thread pool, rather than element
/// by element on the vectorised KIR executor.
struct NativeDequantize: Sendable {
  let weight: ValueID
  let format: BlockFormat
  /// `w` as rows of `columns` elements (its last axis), and whether the result is its transpose.
  let rows: Int, columns: Int, transposed: Bool

  /// Recognises `group`, or returns nil.
  init?(_ group: FusedGroup, in graph: Graph) {
    let nodes = group.nodes.map { graph.nodes[$0] }
    guard let dequantize = nodes.first(where: { $0.kind == .dequantize }),
      graph.type(of: dequantize.result).dtype == .f32,
      let format = graph.type(of: dequantize.operands[0]).dtype.blockFormat
    else { return nil }
    let shape = graph.type(of: dequantize.operands[0]).shape
    guard shape.rank >= 1, let columns = shape.dims.last, columns > 0, columns % format.elements == 0 else {
      return nil
    }
    switch nodes.count {
    case 1 where group.root == dequantize.result:
      transposed = false
    case 2:
      guard let transpose = nodes.first(where: { $0.kind == .transpose }), transpose.operands[0] == dequantize.result,
        group.root == transpose.result, shape.rank == 2, (transpose.attributes.ints("perm") ?? [1, 0]) == [1, 0]
      else { return nil }
      transposed = true
    default:
      return nil
    }
    (weight, self.format, rows, self.columns) = (dequantize.operands[0], format, shape.count / columns, columns)
  }

  /// Decodes `w` into `output` (f32, `rows × columns`, or `columns × rows` when transposed).
  func run(output: UnsafeMutableRawPointer, pointer: (ValueID) -> UnsafeMutableRawPointer, pool: CPUThreadPool) {
    let (format, rows, columns, transposed) = (format, rows, columns, transposed)
    let blocks = columns / format.elements
    let memory = Pointers(source: UnsafeRawPointer(pointer(weight)), output: output.assumingMemoryBound(to: Float.self))
    pool.forEachChunk(of: rows, grain: Swift.max(1, 16384 / columns)) { range in
      var decoder = BlockDecoder(format)
      withUnsafeTemporaryAllocation(of: Float.self, capacity: transposed ? columns : 0) { scratch in
        for row in range {
          let source = memory.source + row * blocks * format.bytes
          let target = transposed ? scratch.baseAddress! : memory.output + row * columns
          for block in 0..<blocks {
            decoder.decode(source + block * format.bytes, into: target + block * format.elements)
          }
          if transposed {
            for column in 0..<columns { memory.output[column * rows + row] = scratch[column] }
          }
        }
      }
    }
  }
}

/// The weight and result pointers, shared by the chunks (each writes its own rows).
private struct Pointers: @unchecked Sendable {
  let source: UnsafeRawPointer
  let output: UnsafeMutablePointer<Float>
}
