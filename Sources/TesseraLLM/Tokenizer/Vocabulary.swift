/// What every tokenizer's vocabulary holds, whatever its algorithm: each token's text and type,
/// the special ids, and the special tokens that are matched whole in text before the algorithm
/// runs on what lies between them.
public struct Vocabulary: Sendable {
  /// Every token's text, indexed by id (packed: from a GGUF file, the file's own token list).
  public let tokens: PackedStrings
  /// Every token's type, indexed by id.
  public let tokenTypes: [TokenType]
  /// The beginning-of-sequence token, if the vocabulary has one.
  public let bosID: Int?
  /// The end-of-sequence token, if the vocabulary has one.
  public let eosID: Int?
  /// The token used for pieces the vocabulary lacks, if any.
  public let unknownID: Int?
  /// Whether ``Tokenizer/encode(_:addBOS:parseSpecial:)`` prepends ``bosID`` by default.
  public let addsBOS: Bool
  /// Special tokens, longest first, as UTF-8 bytes with their ids.
  private let specials: [(bytes: [UInt8], id: Int)]

  /// Creates a vocabulary; `tokenTypes` default to all ``TokenType/normal``.
  public init(
    tokens: PackedStrings, tokenTypes: [TokenType]? = nil, bosID: Int? = nil, eosID: Int? = nil, unknownID: Int? = nil,
    addsBOS: Bool = false
  ) throws(TokenizerError) {
    let types = tokenTypes ?? [TokenType](repeating: .normal, count: tokens.count)
    guard types.count == tokens.count else {
      throw .invalidVocabulary("\(types.count) token types for \(tokens.count) tokens")
    }
    for (name, id) in [("bos", bosID), ("eos", eosID), ("unknown", unknownID)] {
      if let id, !tokens.indices.contains(id) {
        throw .specialTokenOutOfRange(name: name, id: id, vocabularySize: tokens.count)
      }
    }
    self.tokens = tokens
    self.tokenTypes = types
    self.bosID = bosID
    self.eosID = eosID
    self.unknownID = unknownID
    self.addsBOS = addsBOS
    specials = tokens.indices.filter { types[$0].isSpecial && !tokens.utf8(at: $0).isEmpty }
      .map { (Array(tokens.utf8(at: $0)), $0) }.sorted { $0.bytes.count > $1.bytes.count }
  }

  /// The number of tokens.
  public var count: Int { tokens.count }

  /// The type of token `id`, or ``TokenizerError/invalidTokenID(_:vocabularySize:)``.
  func type(of id: Int) throws(TokenizerError) -> TokenType {
    guard tokenTypes.indices.contains(id) else { throw .invalidTokenID(id, vocabularySize: tokens.count) }
    return tokenTypes[id]
  }

  /// Whether a token that comes after `previous` starts a run of text: at the start of a sequence
  /// (`previous` is `nil`) or after a special token.
  func startsSegment(after previous: Int?) -> Bool {
    guard let previous else { return true }
    return tokenTypes.indices.contains(previous) && tokenTypes[previous].isSpecial
  }

  /// A run of text between special tokens, or one special token.
  enum Segment {
    case text(String)
    case special(Int)
  }

  /// Cuts `text` at every special token (longest match first); without `parseSpecial`, or
  /// without special tokens, the whole text is one segment. No text segment is empty.
  func segments(_ text: String, parseSpecial: Bool) -> [Segment] {
    let bytes = Array(text.utf8)
    guard parseSpecial, !specials.isEmpty else { return bytes.isEmpty ? [] : [.text(text)] }
    var result: [Segment] = []
    var start = 0, index = 0
    func flushText() {
      if start < index { result.append(.text(String(decoding: bytes[start..<index], as: UTF8.self))) }
    }
    while index < bytes.count {
      let match = specials.first { special in
        index + special.bytes.count <= bytes.count
          && bytes[index..<(index + special.bytes.count)].elementsEqual(special.bytes)
      }
      guard let match else {
        index += 1
        continue
      }
      flushText()
      result.append(.special(match.id))
      index += match.bytes.count
      start = index
    }
    flushText()
    return result
  }
}
