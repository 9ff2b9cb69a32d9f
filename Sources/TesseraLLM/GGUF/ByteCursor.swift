/// Reads little-endian GGUF fields from a byte buffer, checking every read against the end
/// before it happens, and every count against what the remaining bytes could hold.
struct ByteCursor {
  let bytes: UnsafeRawBufferPointer
  private(set) var offset = 0

  init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

  /// Bytes left after the cursor.
  var remaining: Int { bytes.count - offset }

  /// Fails unless `count` more bytes exist.
  func require(_ count: UInt64, _ what: String) throws(GGUFError) {
    guard count <= UInt64(remaining) else {
      throw .truncated(what: what, offset: offset, needed: count, available: remaining)
    }
  }

  /// A fixed-width little-endian integer.
  mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: String) throws(GGUFError) -> T {
    try require(UInt64(MemoryLayout<T>.size), what)
    let value = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
    offset += MemoryLayout<T>.size
    return T(littleEndian: value)
  }

  /// A count that must be satisfiable by the rest of the file, at `minimumBytes` per item.
  mutating func count(_ what: String, minimumBytes: Int) throws(GGUFError) -> Int {
    let raw = try read(UInt64.self, "\(what) count")
    let limit = remaining / Swift.max(minimumBytes, 1)
    guard raw <= UInt64(limit) else { throw .countTooLarge(what: what, count: raw, limit: limit) }
    return Int(raw)
  }

  /// A GGUF string: u64 byte length, then UTF-8 bytes (invalid sequences become U+FFFD).
  mutating func string(_ what: String) throws(GGUFError) -> String {
    let length = try count("\(what) string byte", minimumBytes: 1)
    let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)]), as: UTF8.self)
    offset += length
    return text
  }

  /// Moves the cursor to the next multiple of `alignment`, or fails when that is past the end.
  mutating func align(to alignment: Int, _ what: String) throws(GGUFError) {
    let padding = (alignment - offset % alignment) % alignment
    try require(UInt64(padding), what)
    offset += padding
  }
}
