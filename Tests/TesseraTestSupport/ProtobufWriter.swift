/// A minimal protobuf encoder for building test inputs, written from the wire-format
/// specification and independent of Tessera's reader: varints, fixed 32/64-bit values,
/// length-delimited fields and nested messages, plus raw bytes for building broken inputs.
public struct ProtobufWriter: Sendable {
  /// The bytes written so far.
  public private(set) var bytes: [UInt8] = []

  /// An empty message.
  public init() {}

  /// The base-128 varint encoding of `value`.
  public static func varint(_ value: UInt64) -> [UInt8] {
    var value = value
    var out: [UInt8] = []
    repeat {
      let low = UInt8(value & 0x7f)
      value >>= 7
      out.append(value == 0 ? low : low | 0x80)
    } while value != 0
    return out
  }

  /// A field key: `field << 3 | wireType`.
  public mutating func key(_ field: Int, wireType: Int) { bytes += Self.varint(UInt64(field << 3 | wireType)) }

  /// A varint field holding an int64 (two's complement, as protobuf's `int64`).
  public mutating func int(_ field: Int, _ value: Int64) {
    key(field, wireType: 0)
    bytes += Self.varint(UInt64(bitPattern: value))
  }

  /// A 32-bit float field.
  public mutating func float(_ field: Int, _ value: Float) {
    key(field, wireType: 5)
    appendLittleEndian(UInt64(value.bitPattern), width: 4)
  }

  /// A length-delimited field holding `data`.
  public mutating func data(_ field: Int, _ data: [UInt8]) {
    key(field, wireType: 2)
    bytes += Self.varint(UInt64(data.count)) + data
  }

  /// A UTF-8 string field.
  public mutating func string(_ field: Int, _ text: String) { data(field, Array(text.utf8)) }

  /// An embedded message field, built by `body`.
  public mutating func message(_ field: Int, _ body: (inout ProtobufWriter) -> Void) {
    var inner = ProtobufWriter()
    body(&inner)
    data(field, inner.bytes)
  }

  /// A packed repeated varint field.
  public mutating func packedInts(_ field: Int, _ values: [Int64]) {
    data(field, values.flatMap { Self.varint(UInt64(bitPattern: $0)) })
  }

  /// A packed repeated float field.
  public mutating func packedFloats(_ field: Int, _ values: [Float]) {
    var inner = ProtobufWriter()
    for value in values { inner.appendLittleEndian(UInt64(value.bitPattern), width: 4) }
    data(field, inner.bytes)
  }

  /// Bytes appended as they are (for malformed inputs).
  public mutating func raw(_ more: [UInt8]) { bytes += more }

  private mutating func appendLittleEndian(_ value: UInt64, width: Int) {
    for index in 0..<width { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(index)))) }
  }
}
