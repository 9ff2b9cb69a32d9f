import Foundation
import TesseraIR

/// Reference kernels for unary, binary, compare, select and cast, with numpy broadcasting.
enum Elementwise {
  static func binary(_ kind: OpKind, _ a: RefArray, _ b: RefArray, _ type: TensorType) -> RefArray {
    let mapA = Indexing.broadcastMap(from: a.shape, to: type.shape)
    let mapB = Indexing.broadcastMap(from: b.shape, to: type.shape)
    if type.dtype.isFloatingPoint {
      let x = a.floats, y = b.floats
      let f = floatBinary(kind)
      let out = (0..<type.shape.count).map { Float(f(Double(x[mapA[$0]]), Double(y[mapB[$0]]))) }
      return RefArray(floats: out, dtype: type.dtype, shape: type.shape)
    }
    let x = a.ints, y = b.ints
    let f = integerBinary(kind)
    let out = (0..<type.shape.count).map { f(x[mapA[$0]], y[mapB[$0]]) }
    return RefArray(ints: out, dtype: type.dtype, shape: type.shape)
  }

  static func unary(_ kind: OpKind, _ a: RefArray, _ attributes: Attributes) -> RefArray {
    if a.dtype.isFloatingPoint {
      let f = floatUnary(kind, tanhGelu: attributes.symbol("approximate") == "tanh")
      return RefArray(floats: a.floats.map { Float(f(Double($0))) }, dtype: a.dtype, shape: a.shape)
    }
    let f: (Int64) -> Int64 =
      switch kind {
      case .neg: { 0 &- $0 }
      case .abs: { $0 < 0 ? 0 &- $0 : $0 }
      default: { Swift.max($0, 0) }  // relu
      }
    return RefArray(ints: a.ints.map(f), dtype: a.dtype, shape: a.shape)
  }

  static func other(_ kind: OpKind, _ operands: [RefArray], _ attributes: Attributes, _ type: TensorType) -> RefArray {
    switch kind {
    case .compare: return compare(operands[0], operands[1], CompareKind(rawValue: attributes.symbol("kind")!)!, type)
    case .select: return select(operands[0], operands[1], operands[2], type)
    default: return cast(operands[0], to: type.dtype)
    }
  }

  private static func compare(_ a: RefArray, _ b: RefArray, _ kind: CompareKind, _ type: TensorType) -> RefArray {
    let mapA = Indexing.broadcastMap(from: a.shape, to: type.shape)
    let mapB = Indexing.broadcastMap(from: b.shape, to: type.shape)
    let out: [Int64] =
      if a.dtype.isFloatingPoint {
        (0..<type.shape.count).map { kind.holds(a.double(at: mapA[$0]), b.double(at: mapB[$0])) ? 1 : 0 }
      } else {
        (0..<type.shape.count).map { i in
          let (x, y) = (a.ints[mapA[i]], b.ints[mapB[i]])
          return kind.holds(x, y) ? 1 : 0
        }
      }
    return RefArray(ints: out, dtype: .bool, shape: type.shape)
  }

  private static func select(_ c: RefArray, _ a: RefArray, _ b: RefArray, _ type: TensorType) -> RefArray {
    let mapC = Indexing.broadcastMap(from: c.shape, to: type.shape)
    let mapA = Indexing.broadcastMap(from: a.shape, to: type.shape)
    let mapB = Indexing.broadcastMap(from: b.shape, to: type.shape)
    let condition = c.ints
    let picks = (0..<type.shape.count).map { condition[mapC[$0]] != 0 ? (true, mapA[$0]) : (false, mapB[$0]) }
    switch (a.storage, b.storage) {
    case (.float(let x), .float(let y)):
      return RefArray(type: type, storage: .float(picks.map { $0.0 ? x[$0.1] : y[$0.1] }))
    default:
      let x = a.ints, y = b.ints
      return RefArray(type: type, storage: .int(picks.map { $0.0 ? x[$0.1] : y[$0.1] }))
    }
  }

  private static func cast(_ a: RefArray, to dtype: DType) -> RefArray {
    if dtype.isFloatingPoint { return RefArray(floats: a.floats, dtype: dtype, shape: a.shape) }
    if dtype == .bool, case .float(let values) = a.storage {
      return RefArray(ints: values.map { $0 != 0 ? 1 : 0 }, dtype: .bool, shape: a.shape)
    }
    return RefArray(ints: a.ints, dtype: dtype, shape: a.shape)
  }

  // MARK: - Scalar functions

  static func floatBinary(_ kind: OpKind) -> (Double, Double) -> Double {
    switch kind {
    case .add: { $0 + $1 }
    case .sub: { $0 - $1 }
    case .mul: { $0 * $1 }
    case .div: { $0 / $1 }
    case .max: { $0.isNaN || $1.isNaN ? .nan : Swift.max($0, $1) }
    case .min: { $0.isNaN || $1.isNaN ? .nan : Swift.min($0, $1) }
    default: { Foundation.pow($0, $1) }  // pow
    }
  }

  static func integerBinary(_ kind: OpKind) -> (Int64, Int64) -> Int64 {
    switch kind {
    case .add: { $0 &+ $1 }
    case .sub: { $0 &- $1 }
    case .mul: { $0 &* $1 }
    case .max: { Swift.max($0, $1) }
    case .min: { Swift.min($0, $1) }
    default: floorDivide  // div
    }
  }

  /// numpy's `//` on integers: rounds toward negative infinity; division by zero gives 0.
  static func floorDivide(_ x: Int64, _ y: Int64) -> Int64 {
    if y == 0 { return 0 }
    if x == .min && y == -1 { return .min }
    let quotient = x / y
    return (x % y != 0 && (x < 0) != (y < 0)) ? quotient - 1 : quotient
  }

  static func floatUnary(_ kind: OpKind, tanhGelu: Bool) -> (Double) -> Double {
    switch kind {
    case .neg: { -$0 }
    case .abs: { Swift.abs($0) }
    case .exp: { Foundation.exp($0) }
    case .log: { Foundation.log($0) }
    case .sqrt: { $0.squareRoot() }
    case .rsqrt: { 1 / $0.squareRoot() }
    case .reciprocal: { 1 / $0 }
    case .tanh: { Foundation.tanh($0) }
    case .sigmoid: { 1 / (1 + Foundation.exp(-$0)) }
    case .silu: { $0 / (1 + Foundation.exp(-$0)) }
    case .gelu where tanhGelu:
      { 0.5 * $0 * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * ($0 + 0.044715 * $0 * $0 * $0))) }
    case .gelu: { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }
    case .relu: { $0.isNaN ? $0 : Swift.max($0, 0) }
    case .sin: { Foundation.sin($0) }
    case .erf: { Foundation.erf($0) }
    default: { Foundation.cos($0) }  // cos
    }
  }
}
