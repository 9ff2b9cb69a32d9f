/// Runs a ``BlockProgram`` over whole blocks: each instruction once per block over all of the
/// block's elements, so the interpretation cost is shared by the block's 32 or 256 elements.
///
/// This is the reference decode of every GGUF block format. Not thread-safe (it owns scratch
/// space); make one per thread.
public struct BlockDecoder {
  private let program: [BlockProgram.Instruction]
  private let elements: Int
  private var integers: [Int32]
  private var floats: [Float]

  /// A decoder for `format`.
  public init(_ format: BlockFormat) {
    program = format.program.instructions
    elements = format.elements
    integers = [Int32](repeating: 0, count: program.count * elements)
    floats = [Float](repeating: 0, count: program.count * elements)
    // Element indices and constants do not depend on the block: fill them once.
    for (slot, instruction) in program.enumerated() {
      for e in 0..<elements {
        switch instruction {
        case .element: integers[slot * elements + e] = Int32(e)
        case .constant(let value): integers[slot * elements + e] = value
        default: break
        }
      }
    }
  }

  /// Decodes the block at `block` (``BlockFormat/bytes`` readable bytes) into `output`
  /// (``BlockFormat/elements`` floats).
  public mutating func decode(_ block: UnsafeRawPointer, into output: UnsafeMutablePointer<Float>) {
    let n = elements
    integers.withUnsafeMutableBufferPointer { ints in
      floats.withUnsafeMutableBufferPointer { reals in
        let ints = ints.baseAddress!, reals = reals.baseAddress!
        for (slot, instruction) in program.enumerated() {
          let out = slot * n
          switch instruction {
          case .element, .constant: break
          case .byte(let a):
            for e in 0..<n { ints[out + e] = Int32(block.load(fromByteOffset: Int(ints[a * n + e]), as: UInt8.self)) }
          case .half(let a):
            for e in 0..<n {
              reals[out + e] = Float(block.loadUnaligned(fromByteOffset: Int(ints[a * n + e]), as: Float16.self))
            }
          case .integer(let op, let a, let b):
            for e in 0..<n { ints[out + e] = BlockProgram.apply(op, ints[a * n + e], ints[b * n + e]) }
          case .selectLess(let a, let b, let x, let y):
            for e in 0..<n { ints[out + e] = ints[a * n + e] < ints[b * n + e] ? ints[x * n + e] : ints[y * n + e] }
          case .toFloat(let a):
            for e in 0..<n { reals[out + e] = Float(ints[a * n + e]) }
          case .float(let op, let a, let b):
            for e in 0..<n { reals[out + e] = BlockProgram.apply(op, reals[a * n + e], reals[b * n + e]) }
          }
        }
        output.update(from: reals + (program.count - 1) * n, count: n)
      }
    }
  }

  /// Element `element` of the block at `block`, computed alone (for element-wise readers); its
  /// scratch lives on the stack.
  public static func element(_ format: BlockFormat, _ element: Int, of block: UnsafeRawPointer) -> Float {
    let program = format.program.instructions
    return withUnsafeTemporaryAllocation(of: Int32.self, capacity: program.count) { ints in
      withUnsafeTemporaryAllocation(of: Float.self, capacity: program.count) { reals in
        for (slot, instruction) in program.enumerated() {
          switch instruction {
          case .element: ints[slot] = Int32(element)
          case .constant(let value): ints[slot] = value
          case .byte(let a): ints[slot] = Int32(block.load(fromByteOffset: Int(ints[a]), as: UInt8.self))
          case .half(let a): reals[slot] = Float(block.loadUnaligned(fromByteOffset: Int(ints[a]), as: Float16.self))
          case .integer(let op, let a, let b): ints[slot] = BlockProgram.apply(op, ints[a], ints[b])
          case .selectLess(let a, let b, let x, let y): ints[slot] = ints[a] < ints[b] ? ints[x] : ints[y]
          case .toFloat(let a): reals[slot] = Float(ints[a])
          case .float(let op, let a, let b): reals[slot] = BlockProgram.apply(op, reals[a], reals[b])
          }
        }
        return reals[program.count - 1]
      }
    }
  }
}
