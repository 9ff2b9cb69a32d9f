import Foundation
import TesseraCompiler
import TesseraIR

/// `rope` on f32 (a group that is one `rope`, as in the Llama graphs): the vector unit builds
/// each pair's frequency `theta^(-2i/D)` once (`viota`, `vpow`); then for every position MTE2
/// broadcasts the run-time position to the lanes (an i32 → f32 DMA with stride 0) and loads the
/// two members of every pair of every head, strided (adjacent pairs, or halves in neox mode);
/// the vector unit turns each head's pairs by `position · frequency` and MTE3 stores them back
/// to their places.
///
/// UB slots of D/2 lanes per head: the frequencies, the position, cos, sin, a scratch, and
/// the first and second members in and out. Flags: mte2→vector 0 (position and pairs loaded),
/// vector→mte2 0 (inputs free), vector→mte3 0 (results ready), mte3→vector 0 (outputs free).
struct RopeLowering {
  let node: Node
  let graph: Graph
  let builder: ProgramBuilder
  let config: NPUConfig
  let address: (ValueID) throws(NPUError) -> Int

  /// Emits the program writing the result at global `output`.
  func emit(output: Int) throws(NPUError) {
    let type = graph.type(of: node.result)
    guard type.dtype == .f32, graph.type(of: node.operands[1]).dtype == .i32 else {
      throw .unsupported(step: builder.step, reason: "rope on the vector unit takes f32 and i32 positions")
    }
    let dims = type.shape.dims
    let dim = dims[dims.count - 1]
    let axis = TypeInference.ropeSequenceAxis(rank: dims.count)
    let (outer, sequence) = (dims[..<axis].reduce(1, *), dims[axis])
    let perPosition = dims[(axis + 1)...].reduce(1, *)
    let (pairs, heads) = (dim / 2, perPosition / dim)
    // Each head's pairs start 32-byte aligned, as vector operands must.
    guard dim % 2 == 0, pairs % 8 == 0, heads >= 1, perPosition % dim == 0 else {
      throw .unsupported(step: builder.step, reason: "rope pairs of \(dim)-element heads are not whole 8-lane groups")
    }
    let lanes = heads * pairs
    guard 9 * lanes * 4 <= config.ubBytes else {
      throw .unsupported(step: builder.step, reason: "rope over \(heads) heads of \(dim) does not fit UB")
    }
    func slot(_ index: Int) -> Int { index * lanes * 4 }
    let (frequency, position, cos, sin, scratch, first, second, firstOut, secondOut) = (
      slot(0), slot(1), slot(2), slot(3), slot(4), slot(5), slot(6), slot(7), slot(8)
    )
    let theta = node.attributes.double("theta") ?? 10000
    let neox = node.attributes.symbol("mode") == "neox"
    try frequencies(into: frequency, scratch: scratch, pairs: pairs, dim: dim, theta: theta)
    // Pair i of a head: (2i, 2i + 1), or (i, i + D/2) in neox mode.
    let (secondOffset, pairStride) = neox ? (pairs, 1) : (1, 2)
    let (input, positions) = (try address(node.operands[0]), try address(node.operands[1]))
    for (iteration, (block, step)) in (0..<outer).flatMap({ b in (0..<sequence).map { (b, $0) } }).enumerated() {
      let base = (block * sequence + step) * perPosition * 4
      let members = [(heads, dim), (pairs, pairStride)]
      if iteration > 0 { builder.waitFlag(.vector, .mte2, 0) }
      try builder.dma(.gm2ub, .i32, .f32, destination: position, source: positions + 4 * step, dims: [(pairs, 0)])
      try builder.dma(.gm2ub, .f32, .f32, destination: first, source: input + base, dims: members)
      try builder.dma(.gm2ub, .f32, .f32, destination: second, source: input + base + 4 * secondOffset, dims: members)
      builder.setFlag(.mte2, .vector, 0)
      builder.waitFlag(.mte2, .vector, 0)
      if iteration > 0 { builder.waitFlag(.mte3, .vector, 0) }
      try vector(.mul, scratch, frequency, position, pairs)
      builder.emit(.vunary(.cos, d: try builder.register(cos), a: try builder.register(scratch), n: try n(pairs)))
      builder.emit(.vunary(.sin, d: try builder.register(sin), a: try builder.register(scratch), n: try n(pairs)))
      for head in 0..<heads {
        let offset = head * pairs * 4
        let (x, y, u, v) = (first + offset, second + offset, firstOut + offset, secondOut + offset)
        // u = x cos - y sin, v = x sin + y cos.
        try vector(.mul, u, x, cos, pairs)
        try vector(.mul, scratch, y, sin, pairs)
        try vector(.sub, u, u, scratch, pairs)
        try vector(.mul, v, x, sin, pairs)
        try vector(.mul, scratch, y, cos, pairs)
        try vector(.add, v, v, scratch, pairs)
      }
      builder.setFlag(.vector, .mte2, 0)
      builder.setFlag(.vector, .mte3, 0)
      builder.waitFlag(.vector, .mte3, 0)
      let out = output + base
      try builder.dma(.ub2gm, .f32, .f32, destination: out, source: firstOut, dims: members)
      try builder.dma(.ub2gm, .f32, .f32, destination: out + 4 * secondOffset, source: secondOut, dims: members)
      builder.setFlag(.mte3, .vector, 0)
    }
  }

  /// frequency[i] = theta^(-2i/D) for the `pairs` lanes, rounded once from the exact power.
  private func frequencies(into frequency: Int, scratch: Int, pairs: Int, dim: Int, theta: Double)
    throws(NPUError)
  {
    builder.emit(.viota(d: try builder.register(scratch), n: try n(pairs)))
    try splat(frequency, Float(-2 / Double(dim)), pairs)
    try vector(.mul, scratch, scratch, frequency, pairs)
    try splat(frequency, Float(theta), pairs)
    try vector(.pow, frequency, frequency, scratch, pairs)
  }

  private func n(_ count: Int) throws(NPUError) -> Register { try builder.register(count) }

  private func splat(_ address: Int, _ value: Float, _ count: Int) throws(NPUError) {
    builder.emit(
      .vdup(
        d: try builder.register(address), bits: try builder.register(Int(Int32(bitPattern: value.bitPattern))),
        n: try n(count)))
  }

  private func vector(_ function: VectorBinary, _ d: Int, _ a: Int, _ b: Int, _ count: Int) throws(NPUError) {
    builder.emit(
      .vbinary(
        function, d: try builder.register(d), a: try builder.register(a), b: try builder.register(b), n: try n(count)))
  }
}
