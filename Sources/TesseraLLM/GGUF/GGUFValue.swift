/// The value type codes of GGUF metadata, as the format numbers them.
public enum GGUFValueType: UInt32, Sendable, Hashable, CaseIterable, CustomStringConvertible {
  case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
  case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

  /// The type's name, e.g. `u32` or `array`.
  public var description: String {
    switch self {
    case .uint8: "u8"
    case .int8: "i8"
    case .uint16: "u16"
    case .int16: "i16"
    case .uint32: "u32"
    case .int32: "i32"
    case .float32: "f32"
    case .bool: "bool"
    case .string: "string"
    case .array: "array"
    case .uint64: "u64"
    case .int64: "i64"
    case .float64: "f64"
    }
  }

  /// Bytes one value occupies at least (a string or array needs its 8-byte length; an array
  /// also its 4-byte element type): the bound that keeps hostile counts from allocating.
  var minimumBytes: Int {
    switch self {
    case .uint8, .int8, .bool: 1
    case .uint16, .int16: 2
    case .uint32, .int32, .float32: 4
    case .uint64, .int64, .float64, .string: 8
    case .array: 12
    }
  }
}

/// One GGUF metadata value: a scalar, a string, or an array of values of one element type
/// (arrays may nest), held packed (``GGUFArray``).
public enum GGUFValue: Sendable, Hashable {
  case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
  case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool)
  case string(String)
  /// Elements all of one type.
  case array(GGUFArray)

  /// The value's type code.
  public var type: GGUFValueType {
    switch self {
    case .uint8: .uint8
    case .int8: .int8
    case .uint16: .uint16
    case .int16: .int16
    case .uint32: .uint32
    case .int32: .int32
    case .uint64: .uint64
    case .int64: .int64
    case .float32: .float32
    case .float64: .float64
    case .bool: .bool
    case .string: .string
    case .array: .array
    }
  }

  /// The type as text, with the element type for arrays (`array of string`).
  public var typeDescription: String {
    if case .array(let array) = self { return "array of \(array.elementType)" }
    return type.description
  }

  /// The value of any integer type, or `nil` for other types and values outside `Int`.
  public var integer: Int? {
    switch self {
    case .uint8(let v): Int(v)
    case .int8(let v): Int(v)
    case .uint16(let v): Int(v)
    case .int16(let v): Int(v)
    case .uint32(let v): Int(v)
    case .int32(let v): Int(v)
    case .uint64(let v): Int(exactly: v)
    case .int64(let v): Int(exactly: v)
    default: nil
    }
  }

  /// The value of a float type (or an integer, converted), or `nil`.
  public var double: Double? {
    switch self {
    case .float32(let v): Double(v)
    case .float64(let v): v
    default: integer.map(Double.init)
    }
  }
}
