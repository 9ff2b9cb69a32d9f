import TesseraCompiler
import TesseraIR

/// GGUF block decoding emitted from each format's one description (``BlockFormat/program``):
/// one SPIR-V value per program instruction, block bytes read through ``loadByte(_:_:)`` and
/// ``loadHalf(_:_:)``.
extension KernelTranslator {
  /// Elements `index ..< index + lanes` of a buffer of `format` blocks, each decoded by its own
  /// copy of the program (lanes may cross blocks).
  func loadDequantized(_ buffer: Int, _ index: UInt32, _ format: BlockFormat, lanes: Int) -> [UInt32] {
    let shift = b.int32(Int32(format.elements.trailingZeroBitCount))
    return (0..<lanes).map { k in
      let i = k == 0 ? index : op(.iAdd, .i32, index, b.int32(Int32(k)))
      let base = op(.iMul, .i32, op(.shiftRightArithmetic, .i32, i, shift), b.int32(Int32(format.bytes)))
      var values: [UInt32] = []
      for instruction in format.program.instructions {
        switch instruction {
        case .element: values.append(op(.bitwiseAnd, .i32, i, b.int32(Int32(format.elements - 1))))
        case .constant(let value): values.append(b.int32(value))
        case .byte(let a): values.append(op(.bitcast, .i32, loadByte(buffer, op(.iAdd, .i32, base, values[a]))))
        case .half(let a): values.append(loadHalf(buffer, op(.iAdd, .i32, base, values[a])))
        case .integer(let o, let a, let c): values.append(op(Self.opcode(o), .i32, values[a], values[c]))
        case .selectLess(let a, let c, let x, let y):
          values.append(op(.select, .i32, op(.sLessThan, .bool, values[a], values[c]), values[x], values[y]))
        case .toFloat(let a): values.append(op(.convertSToF, .f32, values[a]))
        case .float(let o, let a, let c): values.append(op(Self.opcode(o), .f32, values[a], values[c]))
        }
      }
      return values[values.count - 1]
    }
  }

  private static func opcode(_ op: BlockIntegerOperator) -> SPIRVOp {
    switch op {
    case .add: .iAdd
    case .subtract: .iSub
    case .multiply: .iMul
    case .shiftLeft: .shiftLeftLogical
    case .shiftRight: .shiftRightArithmetic
    case .and: .bitwiseAnd
    case .or: .bitwiseOr
    }
  }

  private static func opcode(_ op: BlockFloatOperator) -> SPIRVOp {
    switch op {
    case .add: .fAdd
    case .subtract: .fSub
    case .multiply: .fMul
    }
  }
}
