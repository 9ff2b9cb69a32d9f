import TesseraCompiler
import TesseraIR

/// A matmul group on the cube: output tiles of up to 128x256 in L0C (two, so FIXP drains one
/// while the cube fills the other), K in steps of 64 staged GM → L1 → L0A/L0B through two
/// buffers each (the loads of step k+1 overlap the mmad of step k), then the elementwise
/// epilogue on the vector unit as the tile leaves L0C.
struct MatmulLowering {
  static let tileM = 128, tileN = 256, tileK = 64

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
    guard 2 * l1Set <= config.l1Bytes, 2 * tm * tk * 2 <= config.l0aBytes, 2 * tk * tn * 2 <= config.l0bBytes,
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
    let batchShape = Shape(
      Array(output.shape.dims.prefix(output.shape.rank - (layout.aIsVector ? 0 : 1) - (layout.bIsVector ? 0 : 1))))
    var kStep = 0, tile = 0
    for batch in 0..<batchShape.count {
      let coordinates = batchShape.strides.enumerated().map { axis, stride in batch / stride % batchShape.dims[axis] }
      let aBatch = flat(coordinates, in: layout.batchA), bBatch = flat(coordinates, in: layout.batchB)
      let (aBase, bBase) = (try address(node.operands[0]), try address(node.operands[1]))
      for m0 in stride(from: 0, to: m, by: tm) {
        for n0 in stride(from: 0, to: n, by: tn) {
          let (rows, columns) = (Swift.min(tm, m - m0), Swift.min(tn, n - n0))
          let c = tile % 2 * tm * tn * 4
          for k0 in stride(from: 0, to: k, by: tk) {
            let depth = Swift.min(tk, k - k0)
            let p = kStep % 2
            let (l1A, l1B) = (p * l1Set, p * l1Set + tm * tk * 2)
            if kStep >= 2 { builder.waitFlag(.mte1, .mte2, p) }
            // B first: in a linked program a step's weights load while the previous step,
            // which wrote its A operand, drains.
            try builder.dma(
              .gm2l1, bElement, .f16, destination: l1B,
              source: bBase + ((bBatch * k + k0) * n + n0) * bType.dtype.byteWidth!, dims: [(depth, n), (columns, 1)])
            try builder.dma(
              .gm2l1, aElement, .f16, destination: l1A,
              source: aBase + ((aBatch * m + m0) * k + k0) * aType.dtype.byteWidth!, dims: [(rows, k), (depth, 1)])
            builder.setFlag(.mte2, .mte1, p)
            builder.waitFlag(.mte2, .mte1, p)
            if kStep >= 2 { builder.waitFlag(.cube, .mte1, p) }
            let (l0a, l0b) = (p * tm * tk * 2, p * tk * tn * 2)
            try builder.dma(.l12l0a, .f16, .f16, destination: l0a, source: l1A, dims: [(rows * depth, 1)])
            try builder.dma(.l12l0b, .f16, .f16, destination: l0b, source: l1B, dims: [(depth * columns, 1)])
            builder.setFlag(.mte1, .mte2, p)
            builder.setFlag(.mte1, .cube, p)
            builder.waitFlag(.mte1, .cube, p)
            if k0 == 0 && tile >= 2 { builder.waitFlag(.fixp, .cube, tile % 2) }
            builder.emit(
              .mmad(
                .f16, accumulate: k0 > 0, c: try builder.register(c), a: try builder.register(l0a),
                b: try builder.register(l0b), m: try builder.register(rows), k: try builder.register(depth),
                n: try builder.register(columns)))
            builder.setFlag(.cube, .mte1, p)
            kStep += 1
          }
          builder.setFlag(.cube, .fixp, tile % 2)
          builder.waitFlag(.cube, .fixp, tile % 2)
          accumulators.base = c
          accumulators.row0 = m0
          accumulators.column0 = n0
          accumulators.columns = columns
          let width = Swift.min(columns, pipeline.capacity)
          let height = Swift.max(1, pipeline.capacity / width)
          for r0 in stride(from: m0, to: m0 + rows, by: height) {
            for c0 in stride(from: n0, to: n0 + columns, by: width) {
              var box: Box = coordinates.map { ($0, 1) }
              if !layout.aIsVector { box.append((r0, Swift.min(height, m0 + rows - r0))) }
              if !layout.bIsVector { box.append((c0, Swift.min(width, n0 + columns - c0))) }
              try pipeline.emit(box)
            }
          }
          builder.setFlag(.fixp, .cube, tile % 2)
          tile += 1
        }
      }
    }
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
