/// The protobuf wire types ONNX files use.
enum WireType: Int, Sendable {
  /// int32, int64, uint64, bool, enum.
  case varint = 0
  /// fixed64, double.
  case fixed64 = 1
  /// Strings, bytes, embedded messages, packed repeated fields.
  case lengthDelimited = 2
  /// fixed32, float.
  case fixed32 = 5
}

/// One field header: its number, wire type and where it started.
struct FieldHeader {
  var number: Int
  var wireType: WireType
  var offset: Int
}

/// Reads one protobuf message from a byte array, checking every length against the end of the
/// message before it reads, and every nested message against a depth limit. `path` names the
/// message in errors (`graph.node[2]`); offsets are from the start of the file.
struct ProtoReader {
  /// The most messages nested in one another (subgraphs of subgraphs) the reader accepts.
  static let depthLimit = 64

  let bytes: [UInt8]
  private(set) var offset: Int
  let end: Int
  let path: String
  let depth: Int

  /// A reader over the whole of `bytes`, named `path`.
  init(_ bytes: [UInt8], path: String) {
    self.init(bytes, range: 0..<bytes.count, path: path, depth: 0)
  }

  private init(_ bytes: [UInt8], range: Range<Int>, path: String, depth: Int) {
    self.bytes = bytes
    self.offset = range.lowerBound
    self.end = range.upperBound
    self.path = path
    self.depth = depth
  }

  /// Whether the whole message has been read.
  var isAtEnd: Bool { offset >= end }

  /// The next field's header, or `nil` at the end of the message.
  mutating func nextField() throws(ONNXError) -> FieldHeader? {
    guard !isAtEnd else { return nil }
    let start = offset
    let key = try varint("field key")
    guard key >> 3 != 0 else { throw .invalidFieldNumber(what: path, offset: start) }
    guard key >> 3 <= UInt64(Int32.max) else { throw .invalidValue(what: path, message: "field number \(key >> 3)") }
    guard let wireType = WireType(rawValue: Int(key & 7)) else {
      throw .unknownWireType(what: "\(path) field \(key >> 3)", offset: start, wireType: Int(key & 7))
    }
    return FieldHeader(number: Int(key >> 3), wireType: wireType, offset: start)
  }

  /// A base-128 varint (at most 10 bytes).
  mutating func varint(_ what: String) throws(ONNXError) -> UInt64 {
    let start = offset
    var value: UInt64 = 0
    for index in 0..<10 {
      guard offset < end else {
        throw .truncated(what: "\(path).\(what)", offset: start, needed: UInt64(index + 1), available: index)
      }
      let byte = bytes[offset]
      offset += 1
      if index == 9 && byte > 1 { break }
      value |= UInt64(byte & 0x7f) << (7 * UInt64(index))
      if byte & 0x80 == 0 { return value }
    }
    throw .malformedVarint(what: "\(path).\(what)", offset: start)
  }

  /// A little-endian fixed-width value of `width` bytes (4 or 8).
  mutating func fixed(_ width: Int, _ what: String) throws(ONNXError) -> UInt64 {
    try require(width, what)
    var value: UInt64 = 0
    for index in 0..<width { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
    offset += width
    return value
  }

  /// The byte range of a length-delimited field's payload.
  mutating func lengthDelimited(_ what: String) throws(ONNXError) -> Range<Int> {
    let length = try varint("\(what) length")
    guard length <= UInt64(end - offset) else {
      throw .truncated(what: "\(path).\(what)", offset: offset, needed: length, available: end - offset)
    }
    let range = offset..<(offset + Int(length))
    offset = range.upperBound
    return range
  }

  /// A reader over an embedded message field, named `path.name`.
  mutating func message(_ name: String) throws(ONNXError) -> ProtoReader {
    let range = try lengthDelimited(name)
    guard depth + 1 <= Self.depthLimit else { throw .nestingTooDeep(what: "\(path).\(name)", limit: Self.depthLimit) }
    return ProtoReader(bytes, range: range, path: "\(path).\(name)", depth: depth + 1)
  }

  /// A UTF-8 string field (invalid sequences become U+FFFD).
  mutating func string(_ what: String) throws(ONNXError) -> String {
    String(decoding: bytes[try lengthDelimited(what)], as: UTF8.self)
  }

  /// A bytes field.
  mutating func data(_ what: String) throws(ONNXError) -> ArraySlice<UInt8> {
    bytes[try lengthDelimited(what)]
  }

  /// Skips a field this reader does not use.
  mutating func skip(_ field: FieldHeader) throws(ONNXError) {
    let what = "field \(field.number)"
    switch field.wireType {
    case .varint: _ = try varint(what)
    case .fixed64: _ = try fixed(8, what)
    case .fixed32: _ = try fixed(4, what)
    case .lengthDelimited: _ = try lengthDelimited(what)
    }
  }

  /// Fails unless the field has `wireType`.
  func expect(_ field: FieldHeader, _ wireType: WireType, _ what: String) throws(ONNXError) {
    guard field.wireType == wireType else {
      throw .wrongWireType(
        what: "\(path).\(what)", offset: field.offset, expected: "\(wireType)", found: field.wireType.rawValue)
    }
  }

  private func require(_ count: Int, _ what: String) throws(ONNXError) {
    guard count <= end - offset else {
      throw .truncated(what: "\(path).\(what)", offset: offset, needed: UInt64(count), available: end - offset)
    }
  }
}

extension ProtoReader {
  /// An int64/int32/enum scalar field (two's complement in the varint).
  mutating func int64(_ field: FieldHeader, _ what: String) throws(ONNXError) -> Int64 {
    try expect(field, .varint, what)
    return Int64(bitPattern: try varint(what))
  }

  /// A float scalar field.
  mutating func float(_ field: FieldHeader, _ what: String) throws(ONNXError) -> Float {
    try expect(field, .fixed32, what)
    return Float(bitPattern: UInt32(truncatingIfNeeded: try fixed(4, what)))
  }

  /// One element, or a packed run of elements, of a repeated varint field, appended to `values`.
  mutating func repeatedVarints(_ field: FieldHeader, _ what: String, into values: inout [Int64]) throws(ONNXError) {
    switch field.wireType {
    case .varint: values.append(Int64(bitPattern: try varint(what)))
    case .lengthDelimited:
      var packed = try message(what)
      while !packed.isAtEnd { values.append(Int64(bitPattern: try packed.varint("element"))) }
    default: try expect(field, .varint, what)
    }
  }

  /// One element, or a packed run, of a repeated fixed-width field (4 or 8 bytes), as raw bits.
  mutating func repeatedFixed(_ field: FieldHeader, width: Int, _ what: String, into values: inout [UInt64])
    throws(ONNXError)
  {
    let single: WireType = width == 4 ? .fixed32 : .fixed64
    switch field.wireType {
    case single: values.append(try fixed(width, what))
    case .lengthDelimited:
      var packed = try message(what)
      guard (packed.end - packed.offset) % width == 0 else {
        throw .invalidValue(
          what: packed.path, message: "packed length \(packed.end - packed.offset) is not a multiple of \(width)")
      }
      values.reserveCapacity(values.count + (packed.end - packed.offset) / width)
      while !packed.isAtEnd { values.append(try packed.fixed(width, "element")) }
    default: try expect(field, single, what)
    }
  }
}
