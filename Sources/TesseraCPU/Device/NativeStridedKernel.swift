import TesseraCompiler
import TesseraIR

/// A group that reads its operands through ``StridedView``s and writes one contiguous result:
/// a movement chain (a copy), a `concat`, a `select`, or an f32 `add`/`sub`/`mul`/`div`, each operand reached
/// through its own reshape / transpose / slice / broadcast chain from a value outside the group or
/// a constant fused into it. The index
/// arithmetic is settled once here, so a run is a strided loop per output row, as fast as a
/// memory copy; other groups run their kernel on the vectorised KIR executor.
struct NativeStridedKernel: Sendable {
  /// What each output element is.
  enum Operation: Sendable {
    case copy
    /// Operand `i` fills `bounds[i] ..< bounds[i + 1]` along `axis`.
    case concat(axis: Int, bounds: [Int])
    case select
    case binary(OpKind)
  }

  /// Where an operand's elements are.
  enum Source: Sendable {
    case value(ValueID)
    case literal(OwnedBytes)
  }

  let operation: Operation
  let operands: [Source]
  let views: [StridedView]
  /// The result's dims (at least one axis) and element size.
  let dims: [Int], elementBytes: Int

  /// Recognises `group`, or returns nil.
  init?(_ group: FusedGroup, in graph: Graph) {
    let inside = Dictionary(uniqueKeysWithValues: group.nodes.map { (graph.nodes[$0].result, $0) })
    guard let rootIndex = inside[group.root] else { return nil }
    let root = graph.nodes[rootIndex], type = graph.type(of: root.result)
    guard type.shape.rank > 0, let elementBytes = type.dtype.storageBytes(count: 1), !type.dtype.isQuantized else {
      return nil
    }
    let operation: Operation, reads: [ValueID]
    switch root.kind {
    case .reshape, .transpose, .slice, .broadcast:
      (operation, reads) = (.copy, [root.result])
    case .concat:
      let given = root.attributes.int("axis") ?? 0, axis = given < 0 ? given + type.shape.rank : given
      guard (0..<type.shape.rank).contains(axis) else { return nil }
      let bounds = root.operands.reduce(into: [0]) { $0.append($0.last! + graph.type(of: $1).shape.dims[axis]) }
      (operation, reads) = (.concat(axis: axis, bounds: bounds), root.operands)
    case .select where graph.type(of: root.operands[0]).dtype == .bool:
      (operation, reads) = (.select, root.operands)
    case .add, .sub, .mul, .div:
      guard type.dtype == .f32 else { return nil }
      (operation, reads) = (.binary(root.kind), root.operands)
    default:
      return nil
    }
    var operands: [Source] = [], views: [StridedView] = []
    var visit = inside
    if case .copy = operation {} else { visit[root.result] = nil }
    let literals = inside.compactMapValues { graph.nodes[$0].literal }
    for value in literals.keys { visit[value] = nil }
    for value in reads {
      guard let (source, view) = StridedView.of(value, in: graph, inside: visit) else { return nil }
      operands.append(literals[source].map { .literal(OwnedBytes($0.bytes)) } ?? .value(source))
      if case .concat = operation { views.append(view) } else { views.append(view.broadcast(to: type.shape.dims)) }
    }
    // Every node of the group must be on the way from the operands to the root.
    let reached = Self.reached(from: reads, inside: visit, graph: graph)
    guard reached + (visit[root.result] == nil ? 1 : 0) + literals.count == group.nodes.count else { return nil }
    self.operation = operation
    self.operands = operands
    if case .concat = operation {
      (dims, self.views) = (type.shape.dims, views)
    } else {
      (dims, self.views) = Self.coalesced(dims: type.shape.dims, views: views)
    }
    self.elementBytes = elementBytes
  }

  /// `dims` and `views` (each broadcast to `dims`) with neighbouring axes merged wherever every
  /// view steps through the pair as through one axis (`stride[a] == stride[a + 1] · dims[a + 1]`):
  /// the same elements in the same order, in longer rows. A squeeze-and-excitation multiply of
  /// `[1, C, H, W]` by `[1, C, 1, 1]` becomes `C` rows of `H·W`, where it was `C·H` rows of `W`,
  /// each paying for its offset.
  static func coalesced(dims: [Int], views: [StridedView]) -> ([Int], [StridedView]) {
    var dims = dims, views = views
    var axis = dims.count - 2
    while axis >= 0 {
      let merges = dims[axis] == 1 || views.allSatisfy { $0.strides[axis] == $0.strides[axis + 1] * dims[axis + 1] }
      if merges {
        dims[axis] *= dims[axis + 1]
        dims.remove(at: axis + 1)
        for i in views.indices {
          views[i].strides.remove(at: axis)
          views[i].dims = dims
        }
      }
      axis -= 1
    }
    return (dims, views)
  }

  /// How many nodes of `inside` the values in `values` are computed through.
  private static func reached(from values: [ValueID], inside: [ValueID: Int], graph: Graph) -> Int {
    var seen = Set<Int>(), pending = values
    while let value = pending.popLast() {
      guard let index = inside[value], seen.insert(index).inserted else { continue }
      pending += graph.nodes[index].operands
    }
    return seen.count
  }

  /// Runs it: `pointer(value)` gives each operand's memory, `output` the root's.
  func run(output: UnsafeMutableRawPointer, pointer: (ValueID) -> UnsafeMutableRawPointer, pool: CPUThreadPool) {
    let sources = operands.map { source in
      switch source {
      case .value(let value): UnsafeRawPointer(pointer(value))
      case .literal(let bytes): UnsafeRawPointer(bytes.pointer)
      }
    }
    let width = dims[dims.count - 1], rows = dims.dropLast().reduce(1, *)
    // Long rows (coalesced axes) are cut into pieces of at least `minimumPiece` elements, so a
    // few rows still spread over the pool's threads (a concat's rows stay whole).
    let pieces: Int
    if case .concat = operation {
      pieces = 1
    } else {
      pieces = Swift.min(Swift.max(1, width / Self.minimumPiece), Swift.max(1, 4 * pool.threads / Swift.max(rows, 1)))
    }
    let grain = Swift.max(1, Self.minimumChunk / Swift.max(width / pieces, 1))
    if case .binary(let kind) = operation, dims.count <= 2 {
      binaryRows(kind, output: output, sources: sources, rows: rows, pieces: pieces, grain: grain, pool: pool)
      return
    }
    let (views, dims, operation, elementBytes) = (views, dims, operation, elementBytes)
    let out = UncheckedPointers(output: output, sources: sources)
    pool.forEachChunk(of: rows * pieces, grain: grain) { range in
      var starts = [Int](repeating: 0, count: views.count)
      if case .concat(let axis, let bounds) = operation {
        for row in range {
          Self.concatRow(row, axis: axis, bounds: bounds, out.output, out.sources, views, dims, elementBytes)
        }
        return
      }
      for unit in range {
        let (row, piece) = unit.quotientAndRemainder(dividingBy: pieces)
        let first = width * piece / pieces, count = width * (piece + 1) / pieces - first
        for (slot, view) in views.enumerated() {
          starts[slot] = view.start(ofRow: row) + first * view.strides[dims.count - 1]
        }
        let target = out.output + (row * width + first) * elementBytes
        switch (operation, elementBytes) {
        case (.binary(let kind), _):
          Self.binary(kind, target, out.sources, starts, views, count)
        case (.copy, 1): Self.move(UInt8.self, target, out.sources, starts, views, count, select: false)
        case (.copy, 2): Self.move(UInt16.self, target, out.sources, starts, views, count, select: false)
        case (.copy, 4): Self.move(UInt32.self, target, out.sources, starts, views, count, select: false)
        case (.copy, _), (.concat, _): Self.move(UInt64.self, target, out.sources, starts, views, count, select: false)
        case (.select, 1): Self.move(UInt8.self, target, out.sources, starts, views, count, select: true)
        case (.select, 2): Self.move(UInt16.self, target, out.sources, starts, views, count, select: true)
        case (.select, 4): Self.move(UInt32.self, target, out.sources, starts, views, count, select: true)
        case (.select, _): Self.move(UInt64.self, target, out.sources, starts, views, count, select: true)
        }
      }
    }
  }

  /// An f32 binary op over at most two axes (after ``coalesced(dims:views:)``: a
  /// squeeze-and-excitation multiply's `C` rows of `H·W`), each row's operands found by one
  /// multiply-add per operand instead of ``StridedView/start(ofRow:)``'s division per axis and the
  /// views' arrays read per row (MobileNetV3's 576 rows of 49 spent five times their multiplies
  /// there).
  private func binaryRows(
    _ kind: OpKind, output: UnsafeMutableRawPointer, sources: [UnsafeRawPointer], rows: Int, pieces: Int,
    grain: Int, pool: CPUThreadPool
  ) {
    let width = dims[dims.count - 1]
    // Each operand's first element, and its steps between rows and between neighbours in a row.
    let (a, b) = (views[0], views[1])
    let operands = BinaryOperands(
      out: output.assumingMemoryBound(to: Float.self),
      a: sources[0].assumingMemoryBound(to: Float.self) + a.offset,
      b: sources[1].assumingMemoryBound(to: Float.self) + b.offset)
    let (aRow, bRow) = dims.count == 2 ? (a.strides[0], b.strides[0]) : (0, 0)
    let (sa, sb) = (a.strides[dims.count - 1], b.strides[dims.count - 1])
    pool.forEachChunk(of: rows * pieces, grain: grain) { range in
      for unit in range {
        let (row, piece) = pieces == 1 ? (unit, 0) : unit.quotientAndRemainder(dividingBy: pieces)
        let first = width * piece / pieces, count = width * (piece + 1) / pieces - first
        let out = operands.out + row * width + first
        let x = operands.a + row * aRow + first * sa, y = operands.b + row * bRow + first * sb
        Self.binaryRow(kind, out, x, sa, y, sb, count)
      }
    }
  }

  /// The fewest elements of a row that a part of a parallel run takes.
  static let minimumPiece = 4096

  /// The fewest elements a thread of a parallel run takes: a 128 KiB copy (BERT's attention
  /// heads, 32,768 floats) splits over two threads.
  static let minimumChunk = 16384

  /// Output row `row` of a concat along `axis`: along the last axis, every operand's segment of
  /// the row; otherwise the one operand whose slab holds the row.
  private static func concatRow(
    _ row: Int, axis: Int, bounds: [Int], _ output: UnsafeMutableRawPointer, _ sources: [UnsafeRawPointer],
    _ views: [StridedView], _ dims: [Int], _ elementBytes: Int
  ) {
    let last = dims.count - 1, width = dims[last]
    var coordinates = [Int](repeating: 0, count: last), rest = row
    for a in stride(from: last - 1, through: 0, by: -1) {
      coordinates[a] = rest % dims[a]
      rest /= dims[a]
    }
    let target = output + row * width * elementBytes
    let operands = axis == last ? Array(views.indices) : [bounds.lastIndex { $0 <= coordinates[axis] }!]
    for i in operands {
      var offset = views[i].offset
      for a in 0..<last { offset += (a == axis ? coordinates[a] - bounds[i] : coordinates[a]) * views[i].strides[a] }
      let step = views[i].strides[last], count = axis == last ? bounds[i + 1] - bounds[i] : width
      let segment = target + (axis == last ? bounds[i] : 0) * elementBytes
      let source = sources[i] + offset * elementBytes
      if step == 1 {
        segment.copyMemory(from: source, byteCount: count * elementBytes)
      } else {
        for j in 0..<count {
          (segment + j * elementBytes).copyMemory(from: source + j * step * elementBytes, byteCount: elementBytes)
        }
      }
    }
  }

  /// One row of a copy (`operand 0`) or a select (`operand 0 ? operand 1 : operand 2`).
  @inline(__always)
  private static func move<T>(
    _: T.Type, _ target: UnsafeMutableRawPointer, _ sources: [UnsafeRawPointer], _ starts: [Int],
    _ views: [StridedView], _ width: Int, select: Bool
  ) {
    let out = target.assumingMemoryBound(to: T.self)
    if !select {
      let source = sources[0].assumingMemoryBound(to: T.self) + starts[0]
      let step = views[0].strides[views[0].strides.count - 1]
      if step == 1 {
        out.update(from: source, count: width)
      } else {
        for j in 0..<width { out[j] = source[j * step] }
      }
      return
    }
    let condition = sources[0].assumingMemoryBound(to: UInt8.self) + starts[0]
    let (a, b) = (
      sources[1].assumingMemoryBound(to: T.self) + starts[1], sources[2].assumingMemoryBound(to: T.self) + starts[2]
    )
    let (sc, sa, sb) = (views[0].strides.last!, views[1].strides.last!, views[2].strides.last!)
    for j in 0..<width { out[j] = condition[j * sc] != 0 ? a[j * sa] : b[j * sb] }
  }

  /// One row of an f32 binary op.
  @inline(__always)
  private static func binary(
    _ kind: OpKind, _ target: UnsafeMutableRawPointer, _ sources: [UnsafeRawPointer], _ starts: [Int],
    _ views: [StridedView], _ width: Int
  ) {
    let out = target.assumingMemoryBound(to: Float.self)
    let (a, b) = (
      sources[0].assumingMemoryBound(to: Float.self) + starts[0],
      sources[1].assumingMemoryBound(to: Float.self) + starts[1]
    )
    binaryRow(kind, out, a, views[0].strides.last!, b, views[1].strides.last!, width)
  }

  /// `out[j] = a[j · sa] ∘ b[j · sb]` for `j < width`, `∘` the op `kind` names.
  @inline(__always)
  private static func binaryRow(
    _ kind: OpKind, _ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ sa: Int,
    _ b: UnsafePointer<Float>, _ sb: Int, _ width: Int
  ) {
    switch kind {
    case .add: StridedBinaryLoop.run(out, a, sa, b, sb, width, +)
    case .sub: StridedBinaryLoop.run(out, a, sa, b, sb, width, -)
    case .mul: StridedBinaryLoop.run(out, a, sa, b, sb, width, *)
    default: StridedBinaryLoop.run(out, a, sa, b, sb, width, /)
    }
  }
}

/// A binary op's output and operands, each at its first element. `@unchecked Sendable`: each
/// chunk writes its own rows of `out` and only reads `a` and `b`.
private struct BinaryOperands: @unchecked Sendable {
  let out: UnsafeMutablePointer<Float>
  let a: UnsafePointer<Float>
  let b: UnsafePointer<Float>
}

/// The raw addresses a parallel run shares. `@unchecked Sendable`: each chunk writes its own rows
/// of `output` and only reads `sources`.
private struct UncheckedPointers: @unchecked Sendable {
  let output: UnsafeMutableRawPointer
  let sources: [UnsafeRawPointer]
}
