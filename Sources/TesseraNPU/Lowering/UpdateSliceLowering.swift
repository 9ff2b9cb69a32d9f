import TesseraCompiler
import TesseraIR

/// `update_slice` at a run-time start, the KV-cache write: the base is copied to the result
/// unless the result is the base itself (the memory plan's in-place update), then the scalar
/// unit reads the start (`ldg`), traps unless the slab fits, and each outer block of the update
/// is copied through UB to its rows of the result.
struct UpdateSliceLowering {
  let node: Node
  let graph: Graph
  let builder: ProgramBuilder
  let config: NPUConfig
  let address: (ValueID) throws(NPUError) -> Int

  /// Emits the program writing the result at global `output`.
  func emit(output: Int) throws(NPUError) {
    let (base, update) = (graph.type(of: node.operands[0]), graph.type(of: node.operands[1]))
    guard let width = base.dtype.byteWidth, graph.type(of: node.operands[2]).dtype == .i32 else {
      throw .unsupported(step: builder.step, reason: "update_slice of \(base.dtype)")
    }
    let axis = base.shape.normalizedAxis(node.attributes.int("axis") ?? 0)!
    let (size, length) = (base.shape.dims[axis], update.shape.dims[axis])
    let inner = base.shape.dims[(axis + 1)...].reduce(1, *)
    let outer = base.shape.dims[..<axis].reduce(1, *)
    var copier = GlobalCopy(builder: builder, config: config)
    let baseAddress = try address(node.operands[0])
    if baseAddress != output {
      try copier.copy(bytes: base.shape.count * width, from: baseAddress, to: output)
    }
    let start = try builder.loadIndex(
      at: try address(node.operands[2]), below: size - length + 1, negativeFromEnd: false)
    let offset = try builder.scaled(start, by: inner * width)
    let (slab, updateAddress) = (length * inner * width, try address(node.operands[1]))
    for block in 0..<outer {
      try copier.copy(
        bytes: slab, from: updateAddress + block * slab, to: output + block * size * inner * width,
        destinationOffset: offset)
    }
  }
}
