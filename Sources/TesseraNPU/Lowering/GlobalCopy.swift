/// Copies between ranges of global memory through UB, for the steps that only move data
/// (`gather`, `update_slice`): MTE2 loads a chunk into one of two UB slots and MTE3 stores it,
/// so the load of chunk c+1 overlaps the store of chunk c. Either side may be offset by a
/// register that the program computed at run time (a row index or a start).
///
/// Flags per slot p: mte2→mte3 p (chunk loaded), mte3→mte2 p (slot free again).
struct GlobalCopy {
  let builder: ProgramBuilder
  /// Bytes of one UB slot.
  let slotBytes: Int
  private var chunks = 0

  /// A copier using half of UB for each slot.
  init(builder: ProgramBuilder, config: NPUConfig) {
    self.builder = builder
    slotBytes = config.ubBytes / 2 / 32 * 32
  }

  /// Copies `bytes` from global `source` to global `destination`, each plus the run-time
  /// byte offset in its register (if any).
  mutating func copy(
    bytes: Int, from source: Int, sourceOffset: Register? = nil, to destination: Int,
    destinationOffset: Register? = nil
  ) throws(NPUError) {
    for start in stride(from: 0, to: bytes, by: slotBytes) {
      let count = Swift.min(slotBytes, bytes - start)
      let slot = chunks % 2
      if chunks >= 2 { builder.waitFlag(.mte3, .mte2, slot) }
      try builder.dma(
        .gm2ub, .i8, .i8, destination: slot * slotBytes, source: source + start, dims: [(count, 1)],
        offset: sourceOffset.map { ($0, .source) })
      builder.setFlag(.mte2, .mte3, slot)
      builder.waitFlag(.mte2, .mte3, slot)
      try builder.dma(
        .ub2gm, .i8, .i8, destination: destination + start, source: slot * slotBytes, dims: [(count, 1)],
        offset: destinationOffset.map { ($0, .destination) })
      builder.setFlag(.mte3, .mte2, slot)
      chunks += 1
    }
  }
}
