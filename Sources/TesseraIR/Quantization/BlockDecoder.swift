/// Runs a ``BlockProgram`` over whole blocks: each instruction once per block over all of the
/// block's elements, so the interpretation cost is shared by the block's 32 or 256 elements.
/// Instructions whose value is the same for every element of a block (a block scale, a
/// super-block minimum) are computed once per block and copied to every element.
///
/// This is the reference decode of every GGUF block format. Not thread-safe (it owns scratch
/// space); make one per thread.
public struct BlockDecoder {
  private let program: [BlockProgram.Instruction]
  private let elements: Int
  /// Per instruction: true when its value does not depend on the element index.
  private let uniform: [Bool]
  private var integers: [Int32]
  private var floats: [Float]

  /// A decoder for `format`.
  public init(_ format: BlockFormat) {
    program = format.program.instructions
    elements = format.elements
    var uniform: [Bool] = []
    for instruction in program {
      switch instruction {
      case .element: uniform.append(false)
      case .constant: uniform.append(true)
      case .byte(let a), .half(let a), .toFloat(let a): uniform.append(uniform[a])
      case .integer(_, let a, let b), .float(_, let a, let b): uniform.append(uniform[a] && uniform[b])
      case .selectLess(let a, let b, let x, let y): uniform.append(uniform[a] && uniform[b] && uniform[x] && uniform[y])
      }
    }
    self.uniform = uniform
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
          // A uniform instruction computes lane 0 and copies it; its operands are uniform too.
          let count = uniform[slot] ? 1 : n
          let out = slot * n
          switch instruction {
          case .element, .constant: continue
          case .byte(let a):
            for e in 0..<count {
              ints[out + e] = Int32(block.load(fromByteOffset: Int(ints[a * n + e]), as: UInt8.self))
            }
          case .half(let a):
            for e in 0..<count {
              reals[out + e] = Float(block.loadUnaligned(fromByteOffset: Int(ints[a * n + e]), as: Float16.self))
            }
          case .integer(let op, let a, let b):
            Self.lanes(op, ints + a * n, ints + b * n, into: ints + out, count: count)
          case .selectLess(let a, let b, let x, let y):
            for e in 0..<count { ints[out + e] = ints[a * n + e] < ints[b * n + e] ? ints[x * n + e] : ints[y * n + e] }
          case .toFloat(let a):
            for e in 0..<count { reals[out + e] = Float(ints[a * n + e]) }
          case .float(let op, let a, let b):
            Self.lanes(op, reals + a * n, reals + b * n, into: reals + out, count: count)
          }
          if count == 1 {
            if instruction.isFloat {
              (reals + out + 1).update(repeating: reals[out], count: n - 1)
            } else {
              (ints + out + 1).update(repeating: ints[out], count: n - 1)
            }
          }
        }
        output.update(from: reals + (program.count - 1) * n, count: n)
      }
    }
  }

  /// `op` over `count` lanes. Each case is a loop of its own with the operator fixed (which the
  /// optimiser vectorises); `BlockProgram.apply` stays the one definition of what it computes.
  private static func lanes(
    _ op: BlockIntegerOperator, _ a: UnsafePointer<Int32>, _ b: UnsafePointer<Int32>,
    into out: UnsafeMutablePointer<Int32>, count: Int
  ) {
    @inline(__always) func each(_ op: BlockIntegerOperator) {
      for e in 0..<count { out[e] = BlockProgram.apply(op, a[e], b[e]) }
    }
    switch op {
    case .add: each(.add)
    case .subtract: each(.subtract)
    case .multiply: each(.multiply)
    case .shiftLeft: each(.shiftLeft)
    case .shiftRight: each(.shiftRight)
    case .and: each(.and)
    case .or: each(.or)
    }
  }

  /// `op` over `count` lanes, each result rounded once; one loop per operator, as for integers.
  private static func lanes(
    _ op: BlockFloatOperator, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
    into out: UnsafeMutablePointer<Float>, count: Int
  ) {
    @inline(__always) func each(_ op: BlockFloatOperator) {
      for e in 0..<count { out[e] = BlockProgram.apply(op, a[e], b[e]) }
    }
    switch op {
    case .add: each(.add)
    case .subtract: each(.subtract)
    case .multiply: each(.multiply)
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
