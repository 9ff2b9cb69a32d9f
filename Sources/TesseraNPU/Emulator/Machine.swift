import Foundation

/// What one unit instruction costs in the cycle model.
struct Cost {
  /// Cycles the unit is occupied before it can start its next instruction (pipelined units).
  var occupancy: Int
  /// Further cycles until the result is visible.
  var latency: Int
  /// Bytes read from the source memory and written to the destination memory, for DMAs.
  var moved: (route: DMARoute, read: Int, written: Int)?
  /// Multiply-accumulates, for the cube.
  var macs = 0
}

/// The functional semantics of the unit instructions: exact fp16 operand rounding, fp32
/// accumulation, bounds checks on every access. Operands arrive as the register values
/// captured when the scalar unit dispatched the instruction.
struct Machine {
  let config: NPUConfig
  let memory: MemoryBank
  /// When false, only costs are computed (timing-only runs of large programs).
  let functional: Bool

  func execute(_ instruction: Instruction, _ values: [Int64], pc: Int) throws(NPUError) -> Cost {
    func fault(_ message: String) -> NPUError {
      .fault(pc: pc, instruction: Disassembler.text(instruction), message: message)
    }
    func positive(_ value: Int64, _ name: String) throws(NPUError) -> Int {
      guard value > 0, value < 1 << 32 else { throw fault("\(name) must be positive, found \(value)") }
      return Int(value)
    }
    func region(_ memory: NPUMemory, _ start: Int64, _ bytes: Int, aligned: Bool = false) throws(NPUError) {
      if let reason = self.memory.check(memory, start, Int64(bytes)) { throw fault(reason) }
      if aligned && start % 32 != 0 { throw fault("\(memory) address \(start) is not 32-byte aligned") }
    }
    switch instruction {
    case .dma(let route, let from, let to, _):
      return try dma(route, from, to, values, region: region, positive: positive, fault: fault)
    case .mmad(let type, let accumulate, _, _, _, _, _, _):
      let (m, k, n) = (try positive(values[3], "m"), try positive(values[4], "k"), try positive(values[5], "n"))
      let wide = type == .i8
      try region(.l0a, values[1], m * k * type.bytes)
      try region(.l0b, values[2], k * n * type.bytes)
      try region(.l0c, values[0], m * n * 4)
      if functional {
        let (c, a, b) = (
          memory.base(.l0c) + Int(values[0]), memory.base(.l0a) + Int(values[1]), memory.base(.l0b) + Int(values[2])
        )
        if wide {
          Kernels.mmadInt8(c, a, b, m, k, n, accumulate)
        } else {
          Kernels.mmadHalf(c, a, b, m, k, n, accumulate)
        }
      }
      let fractals = ((m + 15) / 16) * ((k + (wide ? 31 : 15)) / (wide ? 32 : 16)) * ((n + 15) / 16)
      return Cost(
        occupancy: (fractals + config.cubeFractalsPerCycle - 1) / config.cubeFractalsPerCycle,
        latency: config.cubeLatency, moved: nil, macs: m * k * n)
    case .vbinary(let function, _, _, _, _):
      let n = try positive(values[3], "n")
      for index in 0..<3 { try region(.ub, values[index], n * 4, aligned: true) }
      if functional { Kernels.binary(function, base: memory.base(.ub), values, n) }
      return vectorCost(bytes: n * 4, passes: function == .div || function == .pow ? 4 : 1)
    case .vunary(let function, _, _, _):
      let n = try positive(values[2], "n")
      for index in 0..<2 { try region(.ub, values[index], n * 4, aligned: true) }
      if functional { Kernels.unary(function, base: memory.base(.ub), values, n) }
      return vectorCost(bytes: n * 4, passes: function.passes)
    case .vdup:
      let n = try positive(values[2], "n")
      try region(.ub, values[0], n * 4, aligned: true)
      if functional {
        let pointer = (memory.base(.ub) + Int(values[0])).assumingMemoryBound(to: Float.self)
        pointer.update(repeating: Float(bitPattern: UInt32(truncatingIfNeeded: values[1])), count: n)
      }
      return vectorCost(bytes: n * 4, passes: 1)
    case .vreduce(let function, _, _, _, _):
      let (rows, cols) = (try positive(values[2], "rows"), try positive(values[3], "cols"))
      try region(.ub, values[1], rows * cols * 4, aligned: true)
      try region(.ub, values[0], rows * 4, aligned: true)
      if functional { Kernels.reduce(function, base: memory.base(.ub), values, rows, cols) }
      return vectorCost(bytes: rows * cols * 4, passes: function.passes)
    case .vcompare(let kind, _, _, _, _):
      let n = try positive(values[3], "n")
      for index in 0..<3 { try region(.ub, values[index], n * 4, aligned: true) }
      if functional { Kernels.compare(kind, base: memory.base(.ub), values, n) }
      return vectorCost(bytes: n * 4, passes: 1)
    case .viota:
      let n = try positive(values[1], "n")
      try region(.ub, values[0], n * 4, aligned: true)
      if functional {
        let lanes = (memory.base(.ub) + Int(values[0])).assumingMemoryBound(to: Float.self)
        for i in 0..<n { lanes[i] = Float(i) }
      }
      return vectorCost(bytes: n * 4, passes: 1)
    case .vselect:
      let n = try positive(values[4], "n")
      for index in 0..<4 { try region(.ub, values[index], n * 4, aligned: true) }
      if functional { Kernels.select(base: memory.base(.ub), values, n) }
      return vectorCost(bytes: n * 4, passes: 1)
    case .vdequant(let format, _, _, _):
      let blocks = try positive(values[2], "blocks")
      try region(.ub, values[1], blocks * format.blockBytes)
      try region(.ub, values[0], blocks * format.blockElements * 4, aligned: true)
      if functional { Kernels.dequantize(format, base: memory.base(.ub), values, blocks) }
      return vectorCost(bytes: blocks * format.blockElements * 4, passes: 2)
    default:
      preconditionFailure("\(instruction) is not a unit instruction")
    }
  }

  /// The sign-extended little-endian i32 at global-memory byte `address` (`ldg`).
  func loadWord(at address: Int64, _ instruction: Instruction, pc: Int) throws(NPUError) -> Int64 {
    if let reason = memory.check(.gm, address, 4) {
      throw .fault(pc: pc, instruction: Disassembler.text(instruction), message: reason)
    }
    return Int64(Int32(littleEndian: memory.base(.gm).loadUnaligned(fromByteOffset: Int(address), as: Int32.self)))
  }

  private func vectorCost(bytes: Int, passes: Int) -> Cost {
    Cost(
      occupancy: Swift.max(1, (bytes + config.vectorBytesPerCycle - 1) / config.vectorBytesPerCycle) * passes,
      latency: config.vectorLatency, moved: nil)
  }

  private func dma(
    _ route: DMARoute, _ from: NPUElement, _ to: NPUElement, _ values: [Int64],
    region: (NPUMemory, Int64, Int, Bool) throws(NPUError) -> Void,
    positive: (Int64, String) throws(NPUError) -> Int, fault: (String) -> NPUError
  ) throws(NPUError) -> Cost {
    var counts: [Int] = []
    for dim in 0..<4 { counts.append(try positive(values[2 + 2 * dim], "count \(dim)")) }
    let strides = (0..<4).map { Int(values[3 + 2 * $0]) }
    let total = counts.reduce(1, *)
    guard total < 1 << 31 else { throw fault("\(total) elements is too large a transfer") }
    let (source, destination) = route.memories
    let stridedIsSource = route != .ub2gm
    let strided = stridedIsSource ? (source, from, values[1]) : (destination, to, values[0])
    let contiguous = stridedIsSource ? (destination, to, values[0]) : (source, from, values[1])
    var low = 0, high = 0
    for dim in 0..<4 {
      let extent = (counts[dim] - 1) * strides[dim]
      if extent < 0 { low += extent } else { high += extent }
    }
    let stridedStart = strided.2 + Int64(low * strided.1.bytes)
    try region(strided.0, stridedStart, (high - low + 1) * strided.1.bytes, false)
    try region(contiguous.0, contiguous.2, total * contiguous.1.bytes, false)
    if functional {
      Kernels.copy(
        strided: memory.base(strided.0) + Int(strided.2), contiguous: memory.base(contiguous.0) + Int(contiguous.2),
        stridedType: strided.1, contiguousType: contiguous.1, toContiguous: stridedIsSource, counts: counts,
        strides: strides)
    }
    let link = config.link(route)
    let (read, written) = (total * from.bytes, total * to.bytes)
    return Cost(
      occupancy: Swift.max(1, (Swift.max(read, written) + link.bytesPerCycle - 1) / link.bytesPerCycle),
      latency: link.latency, moved: (route, read, written))
  }
}
