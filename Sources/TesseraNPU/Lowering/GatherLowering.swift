import TesseraCompiler
import TesseraIR

/// `gather` of rows (axis 0) by run-time indices, the embedding lookup: for each index the
/// scalar unit reads it from global memory (`ldg`), counts a negative one from the end, traps
/// when it is outside the table, and the row is copied through UB to its place in the result.
struct GatherLowering {
  let node: Node
  let graph: Graph
  let builder: ProgramBuilder
  let config: NPUConfig
  let address: (ValueID) throws(NPUError) -> Int

  /// Emits the program writing the result at global `output`.
  func emit(output: Int) throws(NPUError) {
    let (table, indices) = (graph.type(of: node.operands[0]), graph.type(of: node.operands[1]))
    guard (node.attributes.int("axis") ?? 0) == 0 || table.shape.rank == 1 else {
      throw .unsupported(step: builder.step, reason: "gather reads rows: only axis 0")
    }
    guard let width = table.dtype.byteWidth, indices.dtype == .i32 else {
      throw .unsupported(step: builder.step, reason: "gather of \(table.dtype) by \(indices.dtype) indices")
    }
    let rowBytes = table.shape.dims.dropFirst().reduce(1, *) * width
    let (tableAddress, indexAddress) = (try address(node.operands[0]), try address(node.operands[1]))
    var copier = GlobalCopy(builder: builder, config: config)
    for position in 0..<indices.shape.count {
      let row = try builder.loadIndex(
        at: indexAddress + 4 * position, below: table.shape.dims[0], negativeFromEnd: true)
      let offset = try builder.scaled(row, by: rowBytes)
      try copier.copy(
        bytes: rowBytes, from: tableAddress, sourceOffset: offset, to: output + position * rowBytes)
    }
  }
}
