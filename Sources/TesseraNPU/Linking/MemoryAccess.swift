/// One byte range of one memory that a unit instruction reads or writes, as the linker sees it.
struct MemoryAccess: Equatable {
  /// The memory.
  var memory: NPUMemory
  /// The bytes: the bounding range of a strided access, or the whole memory when an operand is
  /// only known at run time.
  var bytes: Range<Int>
  /// Whether the instruction writes them (else it reads them).
  var writes: Bool

  /// The accesses of the unit instruction `instruction` given its operand registers' values
  /// (``Instruction/operandRegisters``; `nil` for a value only known at run time), with `sizes`
  /// the bytes of each memory (what an unknown address may touch).
  static func of(_ instruction: Instruction, values: [Int64?], sizes: (NPUMemory) -> Int) -> [MemoryAccess] {
    func range(_ memory: NPUMemory, _ start: Int64?, _ count: Int?, writes: Bool) -> MemoryAccess {
      guard let start, let count, start >= 0, count >= 0 else {
        return MemoryAccess(memory: memory, bytes: 0..<sizes(memory), writes: writes)
      }
      return MemoryAccess(memory: memory, bytes: Int(start)..<Int(start) + count, writes: writes)
    }
    func product(_ factors: Int64?...) -> Int? {
      var result = 1
      for factor in factors {
        guard let factor, factor >= 0, factor < 1 << 32 else { return nil }
        result *= Int(factor)
      }
      return result
    }
    switch instruction {
    case .dma(let route, let from, let to, _):
      return dma(route, from, to, values, range: range)
    case .mmad(let type, let accumulate, _, _, _, _, _, _):
      let (m, k, n) = (values[3], values[4], values[5])
      return [
        range(.l0a, values[1], product(m, k).map { $0 * type.bytes }, writes: false),
        range(.l0b, values[2], product(k, n).map { $0 * type.bytes }, writes: false),
        range(.l0c, values[0], product(m, n).map { $0 * 4 }, writes: true),
      ] + (accumulate ? [range(.l0c, values[0], product(m, n).map { $0 * 4 }, writes: false)] : [])
    case .vbinary, .vcompare:
      let bytes = product(values[3]).map { $0 * 4 }
      return [
        range(.ub, values[1], bytes, writes: false), range(.ub, values[2], bytes, writes: false),
        range(.ub, values[0], bytes, writes: true),
      ]
    case .vunary:
      let bytes = product(values[2]).map { $0 * 4 }
      return [range(.ub, values[1], bytes, writes: false), range(.ub, values[0], bytes, writes: true)]
    case .vdup:
      return [range(.ub, values[0], product(values[2]).map { $0 * 4 }, writes: true)]
    case .viota:
      return [range(.ub, values[0], product(values[1]).map { $0 * 4 }, writes: true)]
    case .vreduce:
      return [
        range(.ub, values[1], product(values[2], values[3]).map { $0 * 4 }, writes: false),
        range(.ub, values[0], product(values[2]).map { $0 * 4 }, writes: true),
      ]
    case .vselect:
      let bytes = product(values[4]).map { $0 * 4 }
      return (1..<4).map { range(.ub, values[$0], bytes, writes: false) } + [range(.ub, values[0], bytes, writes: true)]
    case .vdequant(let format, _, _, _):
      return [
        range(.ub, values[1], product(values[2]).map { $0 * format.blockBytes }, writes: false),
        range(.ub, values[0], product(values[2]).map { $0 * format.blockElements * 4 }, writes: true),
      ]
    default:
      return []
    }
  }

  /// A DMA's source and destination ranges: the strided side's bounding range (strides may be
  /// negative or zero) and the contiguous side's run.
  private static func dma(
    _ route: DMARoute, _ from: NPUElement, _ to: NPUElement, _ values: [Int64?],
    range: (NPUMemory, Int64?, Int?, Bool) -> MemoryAccess
  ) -> [MemoryAccess] {
    let (source, destination) = route.memories
    let stridedIsSource = route != .ub2gm
    let stridedType = stridedIsSource ? from : to
    let contiguousType = stridedIsSource ? to : from
    var total: Int? = 1
    var low = 0, high = 0
    for dim in 0..<4 {
      guard let count = values[2 + 2 * dim], let stride = values[3 + 2 * dim], count > 0, count < 1 << 31,
        abs(stride) < 1 << 31
      else {
        total = nil
        break
      }
      total = total.map { $0 * Int(count) }
      let extent = (Int(count) - 1) * Int(stride)
      if extent < 0 { low += extent } else { high += extent }
    }
    let stridedStart = (stridedIsSource ? values[1] : values[0]).map { $0 + Int64(low * stridedType.bytes) }
    let strided = range(
      stridedIsSource ? source : destination, total == nil ? nil : stridedStart,
      (high - low + 1) * stridedType.bytes, !stridedIsSource)
    let contiguous = range(
      stridedIsSource ? destination : source, stridedIsSource ? values[0] : values[1],
      total.map { $0 * contiguousType.bytes }, stridedIsSource)
    return stridedIsSource ? [strided, contiguous] : [contiguous, strided]
  }
}

extension Instruction {
  /// The registers whose values a unit instruction reads when it is dispatched, in the order
  /// its semantics name them (a DMA: its ten descriptor registers); empty for the others.
  var operandRegisters: [Register] {
    switch self {
    case .dma(_, _, _, let descriptor): (0..<10).map { descriptor &+ $0 }
    case .mmad(_, _, let c, let a, let b, let m, let k, let n): [c, a, b, m, k, n]
    case .vbinary(_, let d, let a, let b, let n): [d, a, b, n]
    case .vunary(_, let d, let a, let n): [d, a, n]
    case .vdup(let d, let bits, let n): [d, bits, n]
    case .vreduce(_, let d, let a, let rows, let cols): [d, a, rows, cols]
    case .vdequant(_, let d, let a, let blocks): [d, a, blocks]
    case .vcompare(_, let d, let a, let b, let n): [d, a, b, n]
    case .vselect(let d, let mask, let a, let b, let n): [d, mask, a, b, n]
    case .viota(let d, let n): [d, n]
    default: []
    }
  }
}
