/// Strings packed end to end in one UTF-8 buffer, with where each one ends: a vocabulary of
/// 49,152 tokens takes its text's bytes plus 4 bytes a token, where `[String]` takes 16 bytes a
/// token plus a heap object for each one longer than 15 bytes. Element `i` is made as a `String`
/// when it is read; ``utf8(at:)`` reads its bytes without making one.
///
/// Copies share one buffer (copy on write), so a tokenizer built from a GGUF file's token list
/// holds the same bytes as the file's metadata, not a second copy.
public struct PackedStrings: Sendable, Hashable, RandomAccessCollection, ExpressibleByArrayLiteral {
  /// The most UTF-8 bytes all the strings may hold together (the end offsets are 32-bit).
  public static let maximumBytes = Int(UInt32.max)

  /// Every string's bytes, one after another.
  private var bytes: [UInt8]
  /// Where each string's bytes end in `bytes` (where the next one starts).
  private var ends: [UInt32]

  /// Packs `strings`; their bytes together must not exceed ``maximumBytes``.
  public init(_ strings: some Sequence<String>) {
    bytes = []
    ends = []
    for string in strings {
      bytes += string.utf8
      precondition(bytes.count <= Self.maximumBytes, "PackedStrings holds at most \(Self.maximumBytes) bytes")
      ends.append(UInt32(bytes.count))
    }
  }

  /// Packs the listed strings.
  public init(arrayLiteral strings: String...) { self.init(strings) }

  /// Strings already packed: `ends` are non-decreasing offsets into `bytes`, the last one at its end.
  init(bytes: [UInt8], ends: [UInt32]) {
    self.bytes = bytes
    self.ends = ends
  }

  /// The first index, 0.
  public var startIndex: Int { 0 }
  /// The number of strings.
  public var endIndex: Int { ends.count }

  /// String `index` (invalid UTF-8 becomes U+FFFD).
  public subscript(index: Int) -> String { String(decoding: utf8(at: index), as: UTF8.self) }

  /// The UTF-8 bytes of string `index`, without a copy.
  public func utf8(at index: Int) -> ArraySlice<UInt8> {
    let start = index == 0 ? 0 : Int(ends[index - 1])
    return bytes[start..<Int(ends[index])]
  }

  /// The bytes of all the strings together (what the buffer holds).
  public var totalBytes: Int { bytes.count }
}
