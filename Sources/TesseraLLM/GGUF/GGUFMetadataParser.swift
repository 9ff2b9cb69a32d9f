/// Reads GGUF metadata values of every type, arrays (nested up to a limit) included.
enum GGUFMetadataParser {
  /// Arrays inside arrays deeper than this are rejected (real files nest at most once).
  static let maximumNesting = 4

  /// Reads one value of type `code` for `key`.
  static func value(_ cursor: inout ByteCursor, code: UInt32, key: String, depth: Int = 0) throws(GGUFError)
    -> GGUFValue
  {
    guard let type = GGUFValueType(rawValue: code) else { throw .unknownValueType(key: key, code: code) }
    return try value(&cursor, type: type, key: key, depth: depth)
  }

  private static func value(_ cursor: inout ByteCursor, type: GGUFValueType, key: String, depth: Int)
    throws(GGUFError) -> GGUFValue
  {
    switch type {
    case .uint8: return .uint8(try cursor.read(UInt8.self, key))
    case .int8: return .int8(try cursor.read(Int8.self, key))
    case .uint16: return .uint16(try cursor.read(UInt16.self, key))
    case .int16: return .int16(try cursor.read(Int16.self, key))
    case .uint32: return .uint32(try cursor.read(UInt32.self, key))
    case .int32: return .int32(try cursor.read(Int32.self, key))
    case .uint64: return .uint64(try cursor.read(UInt64.self, key))
    case .int64: return .int64(try cursor.read(Int64.self, key))
    case .float32: return .float32(Float(bitPattern: try cursor.read(UInt32.self, key)))
    case .float64: return .float64(Double(bitPattern: try cursor.read(UInt64.self, key)))
    case .bool: return .bool(try cursor.read(UInt8.self, key) != 0)
    case .string: return .string(try cursor.string(key))
    case .array:
      guard depth < maximumNesting else { throw .nestingTooDeep(key: key, limit: maximumNesting) }
      let code = try cursor.read(UInt32.self, "\(key) element type")
      guard let elementType = GGUFValueType(rawValue: code) else { throw .unknownValueType(key: key, code: code) }
      let count = try cursor.count("\(key) array element", minimumBytes: elementType.minimumBytes)
      var elements: [GGUFValue] = []
      elements.reserveCapacity(count)
      for _ in 0..<count {
        elements.append(try value(&cursor, type: elementType, key: key, depth: depth + 1))
      }
      return .array(elementType: elementType, elements: elements)
    }
  }
}
