/// Turns generated tokens into text as they come, holding back the bytes of a UTF-8 character
/// that a later token will complete (byte-level BPE and SentencePiece byte tokens may split a
/// character across tokens).
public struct StreamingDecoder: Sendable {
  private let tokenizer: any Tokenizer
  private var previous: Int?
  private var pending: [UInt8] = []

  /// Starts a stream of tokens that come after token `previous` (the prompt's last; `nil`: the
  /// stream starts the sequence); special tokens are left out of the text.
  public init(tokenizer: any Tokenizer, after previous: Int? = nil) {
    self.tokenizer = tokenizer
    self.previous = previous
  }

  /// The text that `id` completes: possibly empty, possibly more than one character.
  public mutating func push(_ id: Int) throws(TokenizerError) -> String {
    pending += try tokenizer.bytes([id], skipSpecial: true, after: previous)
    previous = id
    let complete = Self.completePrefixLength(pending)
    let text = String(decoding: pending[..<complete], as: UTF8.self)
    pending.removeFirst(complete)
    return text
  }

  /// Whatever is still held back (an incomplete character, shown as U+FFFD).
  public mutating func finish() -> String {
    defer { pending = [] }
    return String(decoding: pending, as: UTF8.self)
  }

  /// The length of the longest prefix that does not end inside a UTF-8 character.
  static func completePrefixLength(_ bytes: [UInt8]) -> Int {
    var start = bytes.count - 1
    while start >= 0 && start >= bytes.count - 4 && bytes[start] & 0xC0 == 0x80 { start -= 1 }
    guard start >= 0 else { return bytes.count }
    let lead = bytes[start]
    let length = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
    return bytes.count - start >= length ? bytes.count : start
  }
}
