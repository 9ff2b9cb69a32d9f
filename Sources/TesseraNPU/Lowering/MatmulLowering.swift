import TesseraCompiler
import TesseraIR

/// A matmul group on the cube: output tiles of up to 128x256 in L0C (two, so FIXP drains one
/// while the cube fills the other), K in steps of 64 staged GM → L1 in groups of
/// ``kStepsPerLoad`` after a first k-step alone (two L1 groups: the loads of one group overlap
/// the mmads of the other) and
/// L1 → L0A/L0B through two buffers each, then the elementwise epilogue on the vector unit as
/// the tile leaves L0C.
struct MatmulLowering {
  static let tileM = 128, tileN = 256, tileK = 64
  /// K-steps loaded into L1 together: MTE2 raises one flag per group, and a raise holds MTE2
  /// until its loads have completed, so a group of two halves that wait.
  static let kStepsPerLoad = 2

  /// Where the tile being drained lives, read by the epilogue's FIXP loads.
  final class Accumulators {
    var base = 0, row0 = 0, column0 = 0, columns = 0
  }

  let group: FusedGroup
  let graph: Graph
  let builder: ProgramBuilder
  let config: NPUConfig
  let address: (ValueID) throws(NPUError) -> Int

  func emit(output: (address: Int, dtype: DType, shape: Shape)) throws(NPUError) {
    let node = graph.nodes[group.nodes.first { graph.nodes[$0].kind == .matmul }!]
    let (aType, bType) = (graph.type(of: node.operands[0]), graph.type(of: node.operands[1]))
    let layout = MatmulLayout(aType.shape, bType.shape)
    let (m, k, n) = (layout.m, layout.k, layout.n)
    let (tm, tk, tn) = (Swift.min(m, Self.tileM), Swift.min(k, Self.tileK), Swift.min(n, Self.tileN))
    let l1Set = (tm * tk + tk * tn) * 2
    guard 2 * Self.kStepsPerLoad * l1Set <= config.l1Bytes, 2 * tm * tk * 2 <= config.l0aBytes,
      2 * tk * tn * 2 <= config.l0bBytes,
      2 * tm * tn * 4 <= config.l0cBytes
    else { throw .unsupported(step: builder.step, reason: "the default cube tiles do not fit the configured buffers") }
    let (aElement, bElement) = (try element(aType.dtype), try element(bType.dtype))
    let expression = try TileExpression(group, in: graph, step: builder.step)
    let accumulators = Accumulators()
    let readAccumulators: (Box, Int) throws(NPUError) -> Void = { [builder] box, destination throws(NPUError) in
      let rowAxis = layout.aIsVector ? nil : box.count - (layout.bIsVector ? 1 : 2)
      let (rows, row) = rowAxis.map { (box[$0].count, box[$0].start) } ?? (1, 0)
      let (columns, column) = layout.bIsVector ? (1, 0) : (box[box.count - 1].count, box[box.count - 1].start)
      let source =
        accumulators.base + ((row - accumulators.row0) * accumulators.columns + column - accumulators.column0) * 4
      try builder.dma(
        .l0c2ub, .f32, .f32, destination: destination, source: source,
        dims: [(rows, accumulators.columns), (columns, 1)])
    }
    var pipeline = TilePipeline(
      expression: expression, builder: builder, config: config, graph: graph, output: output, address: address,
      readAccumulators: readAccumulators)
    guard pipeline.capacity >= 32 else {
      throw .unsupported(step: builder.step, reason: "the epilogue needs \(expression.slots) UB slots")
    }
    let tiles = try outputTiles(
      layout: layout, shape: output.shape, tm: tm, tk: tk, tn: tn,
      strides: (aType.dtype.byteWidth!, bType.dtype.byteWidth!))
    let kSteps = tiles.flatMap { tile in tile.kSteps.map { (tile, $0) } }
    let perLoad = Self.kStepsPerLoad
    // The first k-step loads alone (the cube starts after one block), then groups of `perLoad`:
    // k-step j is member j - 1 mod perLoad of group (j - 1) / perLoad + 1, in L1 slot
    // (group % 2) · perLoad + member.
    let position = { (j: Int) -> (group: Int, member: Int) in
      j == 0 ? (0, 0) : ((j - 1) / perLoad + 1, (j - 1) % perLoad)
    }
    let l1 = { (j: Int) in (position(j).group % 2 * perLoad + position(j).member) * l1Set }
    var kStep = 0
    for (tile, output) in tiles.enumerated() {
      let c = tile % 2 * tm * tn * 4
      for step in output.kSteps {
        let (p, q) = (kStep % 2, position(kStep).group % 2)
        if position(kStep).member == 0 {
          if position(kStep).group >= 2 { builder.waitFlag(.mte1, .mte2, q) }
          // B first: in a linked program a step's weights load while the previous step, which
          // wrote its A operand, drains.
          for j in kStep..<Swift.min(kStep + (kStep == 0 ? 1 : perLoad), kSteps.count) {
            let (owner, block) = kSteps[j]
            try builder.dma(
              .gm2l1, bElement, .f16, destination: l1(j) + tm * tk * 2, source: block.bSource,
              dims: [(block.depth, n), (owner.columns, 1)])
            try builder.dma(
              .gm2l1, aElement, .f16, destination: l1(j), source: block.aSource,
              dims: [(owner.rows, k), (block.depth, 1)])
          }
          builder.setFlag(.mte2, .mte1, q)
          builder.waitFlag(.mte2, .mte1, q)
        }
        if kStep >= 2 { builder.waitFlag(.cube, .mte1, p) }
        let (l0a, l0b) = (p * tm * tk * 2, p * tk * tn * 2)
        let (l1A, l1B) = (l1(kStep), l1(kStep) + tm * tk * 2)
        try builder.dma(.l12l0a, .f16, .f16, destination: l0a, source: l1A, dims: [(output.rows * step.depth, 1)])
        try builder.dma(.l12l0b, .f16, .f16, destination: l0b, source: l1B, dims: [(step.depth * output.columns, 1)])
        if kStep == 0 || position(kStep).member == perLoad - 1 || kStep == kSteps.count - 1 {
          builder.setFlag(.mte1, .mte2, q)
        }
        builder.setFlag(.mte1, .cube, p)
        builder.waitFlag(.mte1, .cube, p)
        if step.k0 == 0 && tile >= 2 { builder.waitFlag(.fixp, .cube, tile % 2) }
        builder.emit(
          .mmad(
            .f16, accumulate: step.k0 > 0, c: try builder.register(c), a: try builder.register(l0a),
            b: try builder.register(l0b), m: try builder.register(output.rows), k: try builder.register(step.depth),
            n: try builder.register(output.columns)))
        builder.setFlag(.cube, .mte1, p)
        kStep += 1
      }
      builder.setFlag(.cube, .fixp, tile % 2)
      builder.waitFlag(.cube, .fixp, tile % 2)
      accumulators.base = c
      accumulators.row0 = output.m0
      accumulators.column0 = output.n0
      accumulators.columns = output.columns
      let width = Swift.min(output.columns, pipeline.capacity)
      let height = Swift.max(1, pipeline.capacity / width)
      for r0 in stride(from: output.m0, to: output.m0 + output.rows, by: height) {
        for c0 in stride(from: output.n0, to: output.n0 + output.columns, by: width) {
          var box: Box = output.coordinates.map { ($0, 1) }
          if !layout.aIsVector { box.append((r0, Swift.min(height, output.m0 + output.rows - r0))) }
          if !layout.bIsVector { box.append((c0, Swift.min(width, output.n0 + output.columns - c0))) }
          try pipeline.emit(box)
        }
      }
      builder.setFlag(.fixp, .cube, tile % 2)
    }
  }

  /// One k-step of an output tile: where its A and B blocks start in global memory.
  struct KStep {
    var k0: Int, depth: Int, aSource: Int, bSource: Int
  }

  /// An output tile (its batch coordinates, first row and column, size) and its k-steps.
  struct OutputTile {
    var coordinates: [Int], m0: Int, n0: Int, rows: Int, columns: Int, kSteps: [KStep]
  }

  /// The output tiles in the order they are computed, for element sizes `strides` (bytes).
  private func outputTiles(
    layout: MatmulLayout, shape: Shape, tm: Int, tk: Int, tn: Int, strides: (a: Int, b: Int)
  ) throws(NPUError) -> [OutputTile] {
    let node = graph.nodes[group.nodes.first { graph.nodes[$0].kind == .matmul }!]
    let (m, k, n) = (layout.m, layout.k, layout.n)
    let (aBase, bBase) = (try address(node.operands[0]), try address(node.operands[1]))
    let batchShape = Shape(
      Array(shape.dims.prefix(shape.rank - (layout.aIsVector ? 0 : 1) - (layout.bIsVector ? 0 : 1))))
    var tiles: [OutputTile] = []
    for batch in 0..<batchShape.count {
      let coordinates = batchShape.strides.enumerated().map { axis, stride in batch / stride % batchShape.dims[axis] }
      let aBatch = flat(coordinates, in: layout.batchA), bBatch = flat(coordinates, in: layout.batchB)
      for m0 in stride(from: 0, to: m, by: tm) {
        for n0 in stride(from: 0, to: n, by: tn) {
          let kSteps = stride(from: 0, to: k, by: tk).map { k0 in
            KStep(
              k0: k0, depth: Swift.min(tk, k - k0), aSource: aBase + ((aBatch * m + m0) * k + k0) * strides.a,
              bSource: bBase + ((bBatch * k + k0) * n + n0) * strides.b)
          }
          tiles.append(
            OutputTile(
              coordinates: coordinates, m0: m0, n0: n0, rows: Swift.min(tm, m - m0), columns: Swift.min(tn, n - n0),
              kSteps: kSteps))
        }
      }
    }
    return tiles
  }

  /// The flat index of broadcast batch `coordinates` in `shape` (numpy rules).
  private func flat(_ coordinates: [Int], in shape: Shape) -> Int {
    let offset = coordinates.count - shape.rank
    return shape.strides.enumerated().reduce(0) { total, entry in
      total + (shape.dims[entry.offset] == 1 ? 0 : coordinates[entry.offset + offset] * entry.element)
    }
  }

  private func element(_ dtype: DType) throws(NPUError) -> NPUElement {
    guard dtype == .f32 || dtype == .f16 else {
      throw .unsupported(step: builder.step, reason: "the cube takes f16 (or f32 converted on the way), not \(dtype)")
    }
    return dtype == .f32 ? .f32 : .f16
  }
}
