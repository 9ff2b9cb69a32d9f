import TesseraCompiler
import TesseraIR

/// A reduction group on the vector unit: the input is read with the reduced axes innermost
/// (a strided DMA per leaf), so a tile is `rows` rows of `cols` contiguous elements; the
/// prologue runs over the tile, `vred*` leaves one value per row, and the epilogue runs over
/// the rows before MTE3 stores them. A row longer than a slot is reduced in chunks whose
/// partial results are combined with `vadd`/`vmax`/`vmin`. An argmax keeps each row's best
/// value beside its index: a chunk's index (moved by the chunk's start) replaces it where the
/// chunk's maximum is larger, or is a NaN where the best so far is not (four more slots).
///
/// UB holds two sets of `prologue + epilogue + 1` slots (the extra one takes a chunk's partial
/// result and the count of a mean). Chunks alternate prologue sets (MTE2 loads chunk c+1 while
/// the vector unit reduces chunk c), row tiles alternate epilogue sets (MTE3 stores tile t-1
/// while the vector unit computes tile t). Flags per set p: mte2→vector p (inputs ready),
/// vector→mte2 2+p (prologue set free), vector→mte3 p (rows ready), mte3→vector p and
/// mte3→mte2 p (epilogue set free).
struct ReductionLowering {
  let group: FusedGroup
  let graph: Graph
  let builder: ProgramBuilder
  let config: NPUConfig
  let address: (ValueID) throws(NPUError) -> Int

  func emit(output: (address: Int, dtype: DType, shape: Shape)) throws(NPUError) {
    let core = graph.nodes[group.nodes.first { graph.nodes[$0].kind.family == .reduction }!]
    guard let function = Self.functions[core.kind] else {
      throw .unsupported(step: builder.step, reason: "no vector reduction computes \(core.kind)")
    }
    guard function == .argmax || graph.type(of: core.result).dtype.isFloatingPoint else {
      throw .unsupported(
        step: builder.step, reason: "the vector unit sums floats, not \(graph.type(of: core.result).dtype)")
    }
    let input = graph.type(of: core.operands[0]).shape
    let probe = Shape([Int](repeating: 1, count: input.rank))
    let axes =
      function == .argmax
      ? [probe.normalizedAxis(core.attributes.int("axis")!)!]
      : (core.attributes.ints("axes")?.map { probe.normalizedAxis($0)! } ?? Array(0..<input.rank)).sorted()
    let kept = (0..<input.rank).filter { !axes.contains($0) }
    let order = kept + axes
    let prologue = try TileExpression(
      group, value: core.operands[0],
      at: (0..<input.rank).map { Affine.axis(order.firstIndex(of: $0)!, rank: input.rank) }, in: graph,
      step: builder.step)
    let epilogue = try TileExpression(group, in: graph, step: builder.step)
    let slots = prologue.slots + epilogue.slots + 1 + (function == .argmax ? 4 : 0)
    let capacity = (config.ubBytes / (2 * slots * 4)) / 32 * 32
    guard capacity >= 32 else { throw .unsupported(step: builder.step, reason: "the group needs \(slots) UB slots") }
    func slot(_ set: Int, _ index: Int) -> Int { (set * slots + index) * capacity * 4 }
    let emitter = TileEmitter(builder: builder, graph: graph, address: address)
    let keptShape = Shape(kept.map { input.dims[$0] }), reducedShape = Shape(axes.map { input.dims[$0] })
    let chunks = TilePipeline.boxes(reducedShape, capacity: capacity)
    let rowBoxes = TilePipeline.boxes(keptShape, capacity: Swift.max(1, capacity / reducedShape.count))
    let (result, partial) = (
      prologue.slots + epilogue.instances.firstIndex(of: .core)!, prologue.slots + epilogue.slots
    )
    let epilogueLoads = epilogue.instances.contains { if case .leaf = $0 { true } else { false } }
    let keepdims = core.attributes.bool("keepdims") == true
    var chunk = 0
    for (tile, rows) in rowBoxes.enumerated() {
      let set = tile % 2
      let rowCount = rows.reduce(1) { $0 * $1.count }
      var outputBox = rows
      if keepdims {
        outputBox = (0..<input.rank).map { axis in kept.firstIndex(of: axis).map { rows[$0] } ?? (0, 1) }
      }
      if epilogueLoads {
        if tile >= 2 { builder.waitFlag(.mte3, .mte2, set) }
        try emitter.loadLeaves(epilogue, outputBox) { slot(set, prologue.slots + $0) }
      }
      for (position, columns) in chunks.enumerated() {
        let p = chunk % 2
        if chunk >= 2 { builder.waitFlag(.vector, .mte2, 2 + p) }
        try emitter.loadLeaves(prologue, rows + columns) { slot(p, $0) }
        builder.setFlag(.mte2, .vector, p)
        builder.waitFlag(.mte2, .vector, p)
        if position == 0 && tile >= 2 { builder.waitFlag(.mte3, .vector, set) }
        let columnCount = columns.reduce(1) { $0 * $1.count }
        try emitter.compute(prologue, count: rowCount * columnCount) { slot(p, $0) }
        let target = slot(set, position == 0 ? result : partial)
        builder.emit(
          .vreduce(
            function, d: try builder.register(target), a: try builder.register(slot(p, prologue.root)),
            rows: try builder.register(rowCount), cols: try builder.register(columnCount)))
        if function == .argmax {
          try argmax(
            chunk: slot(p, prologue.root), columns: columnCount, start: columns[0].start, rows: rowCount,
            index: slot(set, result), partial: slot(set, partial), scratch: (1...4).map { slot(set, partial + $0) })
        } else if position > 0 {
          try combine(function, into: slot(set, result), slot(set, partial), count: rowCount)
        }
        builder.setFlag(.vector, .mte2, 2 + p)
        chunk += 1
      }
      if core.kind == .reduceMean {
        let count = try builder.register(Int(Int32(bitPattern: Float(reducedShape.count).bitPattern)))
        let (scratch, mean) = (try builder.register(slot(set, partial)), try builder.register(slot(set, result)))
        builder.emit(.vdup(d: scratch, bits: count, n: try builder.register(rowCount)))
        builder.emit(.vbinary(.div, d: mean, a: mean, b: scratch, n: try builder.register(rowCount)))
      }
      if graph.type(of: core.result).dtype == .f16 { try emitter.round(slot(set, result), count: rowCount) }
      try emitter.compute(epilogue, count: rowCount) { slot(set, prologue.slots + $0) }
      builder.setFlag(.vector, .mte3, set)
      builder.waitFlag(.vector, .mte3, set)
      try emitter.store(
        from: slot(set, prologue.slots + epilogue.root), to: output.address, output.dtype, output.shape, outputBox)
      builder.setFlag(.mte3, .vector, set)
      if epilogueLoads { builder.setFlag(.mte3, .mte2, set) }
    }
  }

  /// acc = acc ⊕ partial over `count` lanes.
  private func combine(_ function: VectorReduction, into acc: Int, _ partial: Int, count: Int) throws(NPUError) {
    let binary: VectorBinary = function == .sum ? .add : function == .max ? .max : .min
    let d = try builder.register(acc)
    builder.emit(.vbinary(binary, d: d, a: d, b: try builder.register(partial), n: try builder.register(count)))
  }

  /// After `vredargmax` left a chunk's indices in `index` (the first chunk, `start` 0) or
  /// `partial`: the chunk's maxima, and the best value and index of each row so far.
  /// `scratch` holds the best values, the chunk's maxima and two masks.
  private func argmax(
    chunk: Int, columns: Int, start: Int, rows: Int, index: Int, partial: Int, scratch: [Int]
  ) throws(NPUError) {
    let (best, maxima, take, larger) = (scratch[0], scratch[1], scratch[2], scratch[3])
    func r(_ value: Int) throws(NPUError) -> Register { try builder.register(value) }
    func binary(_ function: VectorBinary, _ d: Int, _ a: Int, _ b: Int) throws(NPUError) {
      builder.emit(.vbinary(function, d: try r(d), a: try r(a), b: try r(b), n: try r(rows)))
    }
    func compare(_ kind: VectorComparison, _ d: Int, _ a: Int, _ b: Int) throws(NPUError) {
      builder.emit(.vcompare(kind, d: try r(d), a: try r(a), b: try r(b), n: try r(rows)))
    }
    builder.emit(
      .vreduce(.max, d: try r(start == 0 ? best : maxima), a: try r(chunk), rows: try r(rows), cols: try r(columns)))
    guard start > 0 else { return }
    // Chunk indices count from the chunk's start.
    builder.emit(.vdup(d: try r(take), bits: try r(Int(Int32(bitPattern: Float(start).bitPattern))), n: try r(rows)))
    try binary(.add, partial, partial, take)
    // take = (the chunk's maximum is NaN and the best is not) or the chunk's maximum is larger.
    try compare(.ne, take, maxima, maxima)
    try compare(.eq, larger, best, best)
    try binary(.mul, take, take, larger)
    try compare(.gt, larger, maxima, best)
    try binary(.max, take, take, larger)
    builder.emit(.vselect(d: try r(index), mask: try r(take), a: try r(partial), b: try r(index), n: try r(rows)))
    try binary(.max, best, best, maxima)
  }

  /// The row reduction behind each reduction op (a mean is a sum divided by the count).
  static let functions: [OpKind: VectorReduction] = [
    .reduceSum: .sum, .reduceMean: .sum, .reduceMax: .max, .reduceMin: .min, .argmax: .argmax,
  ]
}
