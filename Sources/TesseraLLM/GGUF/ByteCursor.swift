/// Reads little-endian GGUF fields from a byte buffer, checking every read against the end
/// before it happens, and every count against what the remaining bytes could hold. What is
/// being read is described only when a check fails (the descriptions are autoclosures), so a
/// loop over 49,152 strings formats no text.
struct ByteCursor {
  let bytes: UnsafeRawBufferPointer
  private(set) var offset = 0

  init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

  /// Bytes left after the cursor.
  var remaining: Int { bytes.count - offset }

  /// Fails unless `count` more bytes exist.
  func require(_ count: UInt64, _ what: @autoclosure () -> String) throws(GGUFError) {
    guard count <= UInt64(remaining) else {
      throw .truncated(what: what(), offset: offset, needed: count, available: remaining)
    }
  }

  /// A fixed-width little-endian integer.
  mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws(GGUFError) -> T {
    try require(UInt64(MemoryLayout<T>.size), what())
    let value = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
    offset += MemoryLayout<T>.size
    return T(littleEndian: value)
  }

  /// A count that must be satisfiable by the rest of the file, at `minimumBytes` per item.
  mutating func count(_ what: @autoclosure () -> String, minimumBytes: Int) throws(GGUFError) -> Int {
    let start = offset
    let raw = try read(UInt64.self, "\(what()) count")
    let limit = remaining / Swift.max(minimumBytes, 1)
    guard raw <= UInt64(limit) else { throw .countTooLarge(what: what(), offset: start, count: raw, limit: limit) }
    return Int(raw)
  }

  /// The next `count` bytes (checked by the caller's `count`), moving past them.
  mutating func take(_ count: Int, _ what: @autoclosure () -> String) throws(GGUFError) -> UnsafeRawBufferPointer {
    try require(UInt64(count), what())
    defer { offset += count }
    return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
  }

  /// The UTF-8 bytes of a GGUF string (u64 byte length, then the bytes), without a copy.
  mutating func stringBytes(_ what: @autoclosure () -> String) throws(GGUFError) -> UnsafeRawBufferPointer {
    let length = try count("\(what()) string byte", minimumBytes: 1)
    return try take(length, what())
  }

  /// A GGUF string (invalid UTF-8 sequences become U+FFFD).
  mutating func string(_ what: @autoclosure () -> String) throws(GGUFError) -> String {
    String(decoding: try stringBytes(what()), as: UTF8.self)
  }

  /// Moves the cursor to the next multiple of `alignment`, or fails when that is past the end.
  mutating func align(to alignment: Int, _ what: @autoclosure () -> String) throws(GGUFError) {
    let padding = (alignment - offset % alignment) % alignment
    try require(UInt64(padding), what())
    offset += padding
  }
}
