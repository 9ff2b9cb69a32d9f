/// Reads GGUF metadata values of every type, arrays (nested up to a limit) included. Arrays are
/// read packed (``GGUFArray``): numbers copied as their bytes, strings into one buffer sized
/// before it is filled.
enum GGUFMetadataParser {
  /// Arrays inside arrays deeper than this are rejected (real files nest at most once).
  static let maximumNesting = 4

  /// Reads one value of type `code` for `key`.
  static func value(_ cursor: inout ByteCursor, code: UInt32, key: String) throws(GGUFError) -> GGUFValue {
    guard let type = GGUFValueType(rawValue: code) else { throw .unknownValueType(key: key, code: code) }
    switch type {
    case .string: return .string(try cursor.string(key))
    case .array: return .array(try array(&cursor, key: key, depth: 0))
    default:
      return GGUFValue(type, littleEndian: try cursor.take(type.byteWidth!, key))
    }
  }

  /// An array (element type, count, elements) at nesting level `depth`.
  private static func array(_ cursor: inout ByteCursor, key: String, depth: Int) throws(GGUFError) -> GGUFArray {
    guard depth < maximumNesting else { throw .nestingTooDeep(key: key, limit: maximumNesting) }
    let code = try cursor.read(UInt32.self, "\(key) element type")
    guard let elementType = GGUFValueType(rawValue: code) else { throw .unknownValueType(key: key, code: code) }
    let count = try cursor.count("\(key) array element", minimumBytes: elementType.minimumBytes)
    switch elementType {
    case .string: return GGUFArray(strings: try strings(&cursor, count: count, key: key))
    case .array:
      var arrays: [GGUFArray] = []
      arrays.reserveCapacity(count)
      for _ in 0..<count { arrays.append(try array(&cursor, key: key, depth: depth + 1)) }
      return GGUFArray(arrays: arrays)
    default:
      var bytes = [UInt8](try cursor.take(count * elementType.byteWidth!, "\(key) array elements"))
      if elementType == .bool { for index in bytes.indices { bytes[index] = bytes[index] == 0 ? 0 : 1 } }
      return GGUFArray(elementType: elementType, littleEndian: bytes)
    }
  }

  /// `count` strings: every length is checked against the rest of the file before any byte is
  /// copied, and the buffer is made once at its final size. A string that runs past the end is
  /// named by its index in `key` and the byte offset of its length.
  private static func strings(_ cursor: inout ByteCursor, count: Int, key: String) throws(GGUFError)
    -> PackedStrings
  {
    let start = cursor.offset
    var sizing = cursor
    var total = 0
    for index in 0..<count { total += try sizing.stringBytes("\(key) element \(index)").count }
    guard total <= PackedStrings.maximumBytes else {
      throw .countTooLarge(
        what: "\(key) string bytes together", offset: start, count: UInt64(total), limit: PackedStrings.maximumBytes)
    }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(total)
    var ends: [UInt32] = []
    ends.reserveCapacity(count)
    for index in 0..<count {
      bytes += try cursor.stringBytes("\(key) element \(index)")
      ends.append(UInt32(bytes.count))
    }
    return PackedStrings(bytes: bytes, ends: ends)
  }
}
