/// A GGUF metadata array: elements all of one ``elementType``, held packed as the file stores
/// them rather than as one ``GGUFValue`` each (24 bytes an element, plus a heap object for each
/// string longer than 15 bytes): numbers as their little-endian bytes, strings as
/// ``PackedStrings``, nested arrays as arrays. Reading element `i` decodes that one element.
///
/// Two arrays are equal when their element types and stored bytes are (so a float NaN equals
/// itself, and 0 and -0 differ).
public struct GGUFArray: Sendable, Hashable, RandomAccessCollection {
  /// The type of every element.
  public let elementType: GGUFValueType
  private let storage: Storage

  private enum Storage: Sendable, Hashable {
    /// Fixed-width elements, little-endian, `elementType.byteWidth` bytes each (a bool as 0 or 1).
    case numbers([UInt8])
    case strings(PackedStrings)
    case arrays([GGUFArray])
  }

  /// An array of `elements`, each of which must be of type `elementType`.
  public init(elementType: GGUFValueType, elements: [GGUFValue]) {
    precondition(elements.allSatisfy { $0.type == elementType }, "every element of a GGUF array has its type")
    self.elementType = elementType
    switch elementType {
    case .string:
      storage = .strings(PackedStrings(elements.compactMap { if case .string(let text) = $0 { text } else { nil } }))
    case .array:
      storage = .arrays(elements.compactMap { if case .array(let array) = $0 { array } else { nil } })
    default:
      storage = .numbers(elements.flatMap(\.littleEndianBytes))
    }
  }

  /// An array of strings.
  public init(strings: PackedStrings) {
    elementType = .string
    storage = .strings(strings)
  }

  /// Fixed-width elements of `elementType` (neither string nor array) from their little-endian
  /// `bytes`, `elementType.byteWidth` each.
  init(elementType: GGUFValueType, littleEndian bytes: [UInt8]) {
    self.elementType = elementType
    storage = .numbers(bytes)
  }

  /// Arrays, each an element.
  init(arrays: [GGUFArray]) {
    elementType = .array
    storage = .arrays(arrays)
  }

  /// The first index, 0.
  public var startIndex: Int { 0 }

  /// The number of elements.
  public var endIndex: Int {
    switch storage {
    case .numbers(let bytes): bytes.count / elementType.byteWidth!
    case .strings(let strings): strings.count
    case .arrays(let arrays): arrays.count
    }
  }

  /// Element `index`, decoded.
  public subscript(index: Int) -> GGUFValue {
    switch storage {
    case .strings(let strings): return .string(strings[index])
    case .arrays(let arrays): return .array(arrays[index])
    case .numbers(let bytes):
      let width = elementType.byteWidth!
      return GGUFValue(elementType, littleEndian: bytes[(index * width)..<((index + 1) * width)])
    }
  }

  /// The strings of an array of strings, or `nil` for other element types.
  public var strings: PackedStrings? {
    if case .strings(let strings) = storage { strings } else { nil }
  }
}

extension GGUFValueType {
  /// Bytes one value of a fixed-width type takes in a file; `nil` for strings and arrays.
  var byteWidth: Int? {
    switch self {
    case .string, .array: nil
    default: minimumBytes
    }
  }
}

extension GGUFValue {
  /// The value of fixed-width type `type` from its little-endian `bytes` (`type.byteWidth` of them).
  init(_ type: GGUFValueType, littleEndian bytes: some BidirectionalCollection<UInt8>) {
    let bits = bytes.reversed().reduce(0) { $0 << 8 | UInt64($1) }
    switch type {
    case .uint8: self = .uint8(UInt8(truncatingIfNeeded: bits))
    case .int8: self = .int8(Int8(truncatingIfNeeded: bits))
    case .uint16: self = .uint16(UInt16(truncatingIfNeeded: bits))
    case .int16: self = .int16(Int16(truncatingIfNeeded: bits))
    case .uint32: self = .uint32(UInt32(truncatingIfNeeded: bits))
    case .int32: self = .int32(Int32(truncatingIfNeeded: bits))
    case .uint64: self = .uint64(bits)
    case .int64: self = .int64(Int64(bitPattern: bits))
    case .float32: self = .float32(Float(bitPattern: UInt32(truncatingIfNeeded: bits)))
    case .float64: self = .float64(Double(bitPattern: bits))
    case .bool: self = .bool(bits != 0)
    case .string, .array: preconditionFailure("\(type) is not a fixed-width GGUF type")
    }
  }

  /// A fixed-width value's little-endian bytes as a file stores them (a bool as 0 or 1); empty
  /// for strings and arrays.
  var littleEndianBytes: [UInt8] {
    let bits: UInt64 =
      switch self {
      case .uint8(let v): UInt64(v)
      case .int8(let v): UInt64(UInt8(bitPattern: v))
      case .uint16(let v): UInt64(v)
      case .int16(let v): UInt64(UInt16(bitPattern: v))
      case .uint32(let v): UInt64(v)
      case .int32(let v): UInt64(UInt32(bitPattern: v))
      case .uint64(let v): v
      case .int64(let v): UInt64(bitPattern: v)
      case .float32(let v): UInt64(v.bitPattern)
      case .float64(let v): v.bitPattern
      case .bool(let v): v ? 1 : 0
      case .string, .array: 0
      }
    return (0..<(type.byteWidth ?? 0)).map { UInt8(truncatingIfNeeded: bits >> (8 * UInt64($0))) }
  }
}
