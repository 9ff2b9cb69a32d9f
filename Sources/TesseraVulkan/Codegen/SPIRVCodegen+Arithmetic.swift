import TesseraCompiler
import TesseraIR

/// Lane-wise arithmetic with the KIR interpreter's semantics: NaN-propagating max/min, C integer
/// division, numpy's `pow` on negative bases, and rounding to f16/bf16/i8/u8 after every result.
extension KernelTranslator {
  func ext(_ instruction: SPIRV.GLSL, _ type: SPIRVType, _ operands: UInt32...) -> UInt32 {
    b.emit(.extInst, type, [.id(glsl), .literal(instruction.rawValue)] + operands.map { .id($0) })
  }

  @discardableResult
  func op(_ op: SPIRVOp, _ type: SPIRVType, _ operands: UInt32...) -> UInt32 {
    b.emit(op, type, operands.map { .id($0) })
  }

  /// `value` (in its register) rounded to what `dtype` holds.
  func round(_ value: UInt32, to dtype: DType) -> UInt32 {
    switch dtype {
    case .f16:
      return unpackHalf(halfBits(value))
    case .bf16:
      // Round to nearest even on the upper 16 bits; NaN stays NaN.
      let bits = op(.bitcast, .u32, value)
      let lsb = op(.bitwiseAnd, .u32, op(.shiftRightLogical, .u32, bits, b.uint32(16)), b.uint32(1))
      let biased = op(.iAdd, .u32, op(.iAdd, .u32, bits, b.uint32(0x7FFF)), lsb)
      let rounded = op(.bitcast, .f32, op(.bitwiseAnd, .u32, biased, b.uint32(0xFFFF_0000)))
      return op(.select, .f32, op(.isNan, .bool, value), value, rounded)
    case .i8: return op(.bitFieldSExtract, .i32, value, b.int32(0), b.int32(8))
    case .u8: return op(.bitwiseAnd, .i32, value, b.int32(0xFF))
    default: return value
    }
  }

  /// The f32 value of the f16 bits in the low half of a u32.
  func unpackHalf(_ bits: UInt32) -> UInt32 {
    let pair = ext(.unpackHalf2x16, .vector(.f32, count: 2), bits)
    return b.emit(.compositeExtract, .f32, [.id(pair), .literal(0)])
  }

  /// The f16 bits of an f32 register in the low half of a u32.
  func halfBits(_ value: UInt32) -> UInt32 {
    let pair = b.emit(.compositeConstruct, .vector(.f32, count: 2), [.id(value), .id(b.float32(0))])
    return ext(.packHalf2x16, .u32, pair)
  }

  func unary(_ kind: KUnaryOp, _ x: UInt32, _ dtype: DType) throws(SPIRVCodegenError) -> UInt32 {
    let type = Self.register(dtype)
    if type != .f32 {
      switch kind {
      case .neg: return op(.sNegate, type, x)
      case .abs: return op(.select, type, op(.sLessThan, .bool, x, constant(0, dtype)), op(.sNegate, type, x), x)
      case .floor: return x
      default: throw fail("\(kind) of an integer")
      }
    }
    switch kind {
    case .neg: return op(.fNegate, .f32, x)
    case .abs: return ext(.fAbs, .f32, x)
    case .exp: return ext(.exp, .f32, x)
    case .log: return ext(.log, .f32, x)
    case .sqrt: return ext(.sqrt, .f32, x)
    case .rsqrt: return ext(.inverseSqrt, .f32, x)
    case .reciprocal: return op(.fDiv, .f32, b.float32(1), x)
    case .tanh: return ext(.tanh, .f32, x)
    case .sin: return ext(.sin, .f32, x)
    case .cos: return ext(.cos, .f32, x)
    case .floor: return ext(.floor, .f32, x)
    case .erf: return erf(x)
    }
  }

  func binary(_ kind: KBinaryOp, _ x: UInt32, _ y: UInt32, _ dtype: DType) throws(SPIRVCodegenError) -> UInt32 {
    let type = Self.register(dtype)
    switch (kind, type) {
    case (.and, .bool): return op(.logicalAnd, .bool, x, y)
    case (.or, .bool): return op(.logicalOr, .bool, x, y)
    case (.and, _), (.or, _): throw fail("\(kind) of \(dtype) (bool only)")
    case (_, .bool): throw fail("\(kind) of bool")
    case (.add, .f32): return op(.fAdd, .f32, x, y)
    case (.sub, .f32): return op(.fSub, .f32, x, y)
    case (.mul, .f32): return op(.fMul, .f32, x, y)
    case (.div, .f32): return op(.fDiv, .f32, x, y)
    case (.rem, .f32): return op(.fRem, .f32, x, y)
    case (.max, .f32), (.min, .f32):
      let better = op(kind == .max ? .fOrdGreaterThan : .fOrdLessThan, .bool, x, y)
      let picked = op(.select, .f32, better, x, y)
      return op(.select, .f32, op(.isNan, .bool, x), x, op(.select, .f32, op(.isNan, .bool, y), y, picked))
    case (.pow, .f32): return floatPower(x, y)
    case (.add, _): return op(.iAdd, type, x, y)
    case (.sub, _): return op(.iSub, type, x, y)
    case (.mul, _): return op(.iMul, type, x, y)
    case (.div, _): return op(.sDiv, type, x, y)
    case (.rem, _): return op(.sRem, type, x, y)
    case (.max, _): return op(.select, type, op(.sGreaterThan, .bool, x, y), x, y)
    case (.min, _): return op(.select, type, op(.sLessThan, .bool, x, y), x, y)
    case (.pow, _): return integerPower(x, y, dtype)
    }
  }

  /// `pow` as C defines it: `|x|^y`, negated for a negative base and an odd integer exponent,
  /// NaN for a negative base and a non-integer exponent, 1 for a zero exponent.
  func floatPower(_ x: UInt32, _ y: UInt32) -> UInt32 {
    let magnitude = ext(.pow, .f32, ext(.fAbs, .f32, x), y)
    let isInteger = op(.fOrdEqual, .bool, ext(.floor, .f32, y), y)
    let half = op(.fMul, .f32, y, b.float32(0.5))
    let isOdd = op(.logicalAnd, .bool, isInteger, op(.fUnordNotEqual, .bool, ext(.floor, .f32, half), half))
    let signed = op(.select, .f32, isOdd, op(.fNegate, .f32, magnitude), magnitude)
    let negativeBase = op(.select, .f32, isInteger, signed, b.float32(.nan))
    let zero = b.float32(0)
    let result = op(.select, .f32, op(.fOrdLessThan, .bool, x, zero), negativeBase, magnitude)
    // |x| = 0: 0 for y > 0, +inf for y < 0 (the pow of a library may leave these undefined).
    let atZero = op(.select, .f32, op(.fOrdGreaterThan, .bool, y, zero), zero, b.float32(.infinity))
    let nonZero = op(.select, .f32, op(.fOrdEqual, .bool, x, zero), atZero, result)
    return op(.select, .f32, op(.fOrdEqual, .bool, y, zero), b.float32(1), nonZero)
  }

  /// Integer `pow` by square-and-multiply over every exponent bit; a negative exponent gives
  /// the truncated real result (1 for a base of 1, ±1 for -1, 0 otherwise).
  func integerPower(_ x: UInt32, _ y: UInt32, _ dtype: DType) -> UInt32 {
    let type = Self.register(dtype)
    let width = type == .i64 ? 63 : 31
    let one = constant(1, dtype), zero = constant(0, dtype)
    var result = one, base = x
    for bit in 0..<width {
      let mask = constant(Double(Int64(1) << bit), dtype)
      let set = op(.iNotEqual, .bool, op(.bitwiseAnd, type, y, mask), zero)
      result = op(.select, type, set, op(.iMul, type, result, base), result)
      base = op(.iMul, type, base, base)
    }
    let odd = op(.iNotEqual, .bool, op(.bitwiseAnd, type, y, one), zero)
    let minusOne = constant(-1, dtype)
    let unitPower = op(.select, type, odd, minusOne, one)
    let negative = op(
      .select, type, op(.iEqual, .bool, x, one), one,
      op(.select, type, op(.iEqual, .bool, x, minusOne), unitPower, zero))
    return op(.select, type, op(.sLessThan, .bool, y, zero), negative, result)
  }

  func compare(_ kind: CompareKind, _ x: UInt32, _ y: UInt32, _ dtype: DType) -> UInt32 {
    switch Self.register(dtype) {
    case .f32:
      let code: SPIRVOp =
        switch kind {
        case .lt: .fOrdLessThan
        case .le: .fOrdLessThanEqual
        case .gt: .fOrdGreaterThan
        case .ge: .fOrdGreaterThanEqual
        case .eq: .fOrdEqual
        case .ne: .fUnordNotEqual
        }
      return op(code, .bool, x, y)
    case .bool:
      let (a, c) = (cast(x, from: .bool, to: .i32), cast(y, from: .bool, to: .i32))
      return compare(kind, a, c, .i32)
    default:
      let code: SPIRVOp =
        switch kind {
        case .lt: .sLessThan
        case .le: .sLessThanEqual
        case .gt: .sGreaterThan
        case .ge: .sGreaterThanEqual
        case .eq: .iEqual
        case .ne: .iNotEqual
        }
      return op(code, .bool, x, y)
    }
  }

  /// Converts between registers; floats to integers truncate toward zero, anything to bool is
  /// `!= 0` (true for NaN), and the result is rounded to `to`.
  func cast(_ x: UInt32, from: DType, to: DType) -> UInt32 {
    let (source, target) = (Self.register(from), Self.register(to))
    let converted: UInt32
    switch (source, target) {
    case (.bool, .bool): return x
    case (.bool, _): converted = op(.select, target, x, constant(1, to), constant(0, to))
    case (.f32, .bool): return op(.fUnordNotEqual, .bool, x, b.float32(0))
    case (_, .bool): return op(.iNotEqual, .bool, x, constant(0, from))
    case (.f32, .f32): converted = x
    case (.f32, _): converted = op(.convertFToS, target, x)
    case (_, .f32): converted = op(.convertSToF, .f32, x)
    case _ where source == target: converted = x
    default: converted = op(.sConvert, target, x)
    }
    return round(converted, to: to)
  }
}
