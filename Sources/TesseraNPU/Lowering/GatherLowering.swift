import TesseraCompiler
import TesseraIR

/// `gather` of rows (axis 0) by run-time indices, the embedding lookup: for each index the
/// scalar unit reads it from global memory (`ldg`), counts a negative one from the end, traps
/// when it is outside the table, and the row is copied through UB to its place in the result.
/// When the group also dequantizes the table (`gather(dequantize(W))`, as the Llama graphs read
/// their embeddings), the row's GGUF blocks are loaded raw and `vdeq` writes its f32 values.
struct GatherLowering {
  let group: FusedGroup
  let graph: Graph
  let builder: ProgramBuilder
  let config: NPUConfig
  let address: (ValueID) throws(NPUError) -> Int

  /// Whether `group` is one `gather`, or a `gather` of a `dequantize` in the group.
  static func matches(_ group: FusedGroup, in graph: Graph) -> Bool {
    let nodes = group.nodes.map { graph.nodes[$0] }
    guard let gather = nodes.last, gather.kind == .gather else { return false }
    return nodes.count == 1
      || (nodes.count == 2 && nodes[0].kind == .dequantize && nodes[0].result == gather.operands[0])
  }

  /// Emits the program writing the result at global `output`.
  func emit(output: Int) throws(NPUError) {
    let node = graph.nodes[group.nodes.last!]
    let (table, indices) = (graph.type(of: node.operands[0]), graph.type(of: node.operands[1]))
    guard (node.attributes.int("axis") ?? 0) == 0 || table.shape.rank == 1 else {
      throw .unsupported(step: builder.step, reason: "gather reads rows: only axis 0")
    }
    guard let width = table.dtype.byteWidth, indices.dtype == .i32 else {
      throw .unsupported(step: builder.step, reason: "gather of \(table.dtype) by \(indices.dtype) indices")
    }
    let rowElements = table.shape.dims.dropFirst().reduce(1, *)
    let indexAddress = try address(node.operands[1])
    let rows = (0..<indices.shape.count).map { position in (position, indexAddress + 4 * position) }
    if group.nodes.count == 2 {
      try dequantizeRows(
        rows, of: graph.nodes[group.nodes[0]].operands[0], elements: rowElements, count: table.shape.dims[0],
        output: output, dtype: table.dtype)
      return
    }
    let (rowBytes, tableAddress) = (rowElements * width, try address(node.operands[0]))
    var copier = GlobalCopy(builder: builder, config: config)
    for (position, index) in rows {
      let row = try builder.loadIndex(at: index, below: table.shape.dims[0], negativeFromEnd: true)
      let offset = try builder.scaled(row, by: rowBytes)
      try copier.copy(bytes: rowBytes, from: tableAddress, sourceOffset: offset, to: output + position * rowBytes)
    }
  }

  /// For each (position, index address): the row's blocks of `weight` GM → UB (raw), `vdeq`,
  /// UB → GM. Flags: mte2→vector 0 (blocks loaded), vector→mte2 0 (blocks read),
  /// vector→mte3 0 (values ready), mte3→vector 0 (values stored).
  private func dequantizeRows(
    _ rows: [(Int, Int)], of weight: ValueID, elements: Int, count: Int, output: Int, dtype: DType
  ) throws(NPUError) {
    guard dtype == .f32, let format = QuantFormat(graph.type(of: weight).dtype), elements % format.blockElements == 0
    else { throw .unsupported(step: builder.step, reason: "gather of a dequantized \(dtype) table") }
    let blocks = elements / format.blockElements
    let (quantBytes, valueBytes) = (blocks * format.blockBytes, elements * 4)
    let values = (quantBytes + 31) / 32 * 32
    guard values + valueBytes <= config.ubBytes else {
      throw .unsupported(step: builder.step, reason: "a row of \(elements) elements does not fit UB")
    }
    let weightAddress = try address(weight)
    for (iteration, (position, index)) in rows.enumerated() {
      let row = try builder.loadIndex(at: index, below: count, negativeFromEnd: true)
      let offset = try builder.scaled(row, by: quantBytes)
      if iteration > 0 { builder.waitFlag(.vector, .mte2, 0) }
      try builder.dma(
        .gm2ub, .i8, .i8, destination: 0, source: weightAddress, dims: [(quantBytes, 1)],
        offset: (offset, .source))
      builder.setFlag(.mte2, .vector, 0)
      builder.waitFlag(.mte2, .vector, 0)
      if iteration > 0 { builder.waitFlag(.mte3, .vector, 0) }
      builder.emit(
        .vdequant(
          format, d: try builder.register(values), a: try builder.register(0), blocks: try builder.register(blocks)))
      builder.setFlag(.vector, .mte2, 0)
      builder.setFlag(.vector, .mte3, 0)
      builder.waitFlag(.vector, .mte3, 0)
      try builder.dma(
        .ub2gm, .f32, .f32, destination: output + position * valueBytes, source: values, dims: [(elements, 1)])
      builder.setFlag(.mte3, .vector, 0)
    }
  }
}
