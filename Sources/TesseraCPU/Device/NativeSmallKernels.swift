import Glibc
import TesseraCompiler
import TesseraIR

/// A lone `update_slice` run as copies: the update's rows into the slab at the run-time start
/// (after a copy of the base, unless the result is the base's own bytes). A start out of range
/// writes nothing, as the generated kernel does.
struct NativeSliceUpdate: Sendable {
  let base: ValueID, update: ValueID, start: ValueID
  /// The base's blocks before the axis, the axis's length, the elements after it, and the
  /// update's length along the axis.
  let outer: Int, size: Int, inner: Int, length: Int
  let elementBytes: Int
  let startDType: DType
  /// Whether the result is the base's bytes (the update in place over an argument).
  let inPlace: Bool

  /// Recognises a group of one `update_slice` on a plain dtype with an integer start, or nil.
  init?(_ group: FusedGroup, in graph: Graph) {
    guard group.nodes.count == 1 else { return nil }
    let node = graph.nodes[group.nodes[0]]
    guard node.kind == .updateSlice else { return nil }
    let baseType = graph.type(of: node.operands[0])
    guard let bytes = baseType.storageBytes, baseType.shape.count > 0, bytes % baseType.shape.count == 0 else {
      return nil
    }
    startDType = graph.type(of: node.operands[2]).dtype
    guard [.i32, .i64, .i8, .u8].contains(startDType) else { return nil }
    (base, update, start) = (node.operands[0], node.operands[1], node.operands[2])
    let axis = UpdateSlice.axis(of: node, in: graph)
    (outer, size, inner) = Indexing.around(baseType.shape, axis: axis)
    length = graph.type(of: node.operands[1]).shape.dims[axis]
    elementBytes = bytes / baseType.shape.count
    inPlace = UpdateSlice.inPlaceBase(of: node, in: graph) != nil
  }

  /// Copies the update into `output` at the start `pointer(start)` holds.
  func run(output: UnsafeMutableRawPointer, pointer: (ValueID) -> UnsafeMutableRawPointer) {
    let first: Int
    let source = UnsafeRawPointer(pointer(start))
    switch startDType {
    case .i64: first = Int(source.loadUnaligned(as: Int64.self))
    case .i8: first = Int(source.loadUnaligned(as: Int8.self))
    case .u8: first = Int(source.loadUnaligned(as: UInt8.self))
    default: first = Int(source.loadUnaligned(as: Int32.self))
    }
    if !inPlace { memmove(output, pointer(base), outer * size * inner * elementBytes) }
    guard first >= 0, first + length <= size else { return }
    let slab = length * inner * elementBytes
    let rows = UnsafeRawPointer(pointer(update))
    for block in 0..<outer {
      memcpy(output + (block * size + first) * inner * elementBytes, rows + block * slab, slab)
    }
  }
}

/// A lone `argmax` of f32 values: the first maximal index (the first NaN, if any) along the axis,
/// as i32.
struct NativeArgmax: Sendable {
  let input: ValueID
  let outer: Int, size: Int, inner: Int

  /// Recognises a group of one f32 `argmax`, or nil.
  init?(_ group: FusedGroup, in graph: Graph) {
    guard group.nodes.count == 1 else { return nil }
    let node = graph.nodes[group.nodes[0]]
    let type = graph.type(of: node.operands[0])
    guard node.kind == .argmax, type.dtype == .f32, type.shape.count > 0,
      let axis = type.shape.normalizedAxis(node.attributes.int("axis") ?? 0)
    else { return nil }
    input = node.operands[0]
    (outer, size, inner) = Indexing.around(type.shape, axis: axis)
  }

  /// Writes each position's index into `output`.
  func run(output: UnsafeMutableRawPointer, pointer: (ValueID) -> UnsafeMutableRawPointer) {
    let values = UnsafePointer(pointer(input).assumingMemoryBound(to: Float.self))
    let indices = output.assumingMemoryBound(to: Int32.self)
    for block in 0..<outer {
      for column in 0..<inner {
        let row = values + block * size * inner + column
        var best = 0
        var peak = row[0]
        for index in 1..<size where !peak.isNaN {
          let value = row[index * inner]
          if value > peak || value.isNaN {
            best = index
            peak = value
          }
        }
        indices[block * inner + column] = Int32(best)
      }
    }
  }
}
