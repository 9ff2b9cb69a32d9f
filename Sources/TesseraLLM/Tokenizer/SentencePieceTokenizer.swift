/// SentencePiece BPE as llama-family GGUF files describe it (`tokenizer.ggml.model = "llama"`:
/// llama 1 and 2, Mistral, TinyLlama).
///
/// Encoding a run of text between special tokens: every space becomes `▁` (U+2581) and, with
/// ``addsSpacePrefix``, one more `▁` goes in front; the text is cut into Unicode scalars, and the
/// neighbouring pair whose concatenation is a token with the highest score is merged (the
/// leftmost such pair among equal scores), again and again, until no pair makes a token. Only
/// normal and user-defined tokens are made this way. A scalar left that is not a token becomes
/// the byte tokens `<0xNN>` of its UTF-8 bytes, or else the unknown token.
///
/// Decoding: a byte token gives its byte, any other token its text with `▁` read as a space; with
/// ``addsSpacePrefix`` the token that starts a run of text (at the start of the sequence or after
/// a special token) loses the leading space encoding put there, so decoding what was encoded
/// gives the text back.
public struct SentencePieceTokenizer: Tokenizer {
  /// The tokens (`▁` for a space), their types and the special ids.
  public let vocabulary: Vocabulary
  /// Every token's score, indexed by id: the pair that makes the higher-scored token merges first.
  public let scores: [Float]
  /// Whether encoding puts a `▁` before each run of text (GGUF's `add_space_prefix`).
  public let addsSpacePrefix: Bool
  /// The tokens merging may produce (normal and user-defined), by text.
  let pieceIDs: [String: Int]
  /// The byte token for each byte value, where the vocabulary has one.
  private let byteIDs: [Int?]
  /// The byte each byte token stands for.
  private let byteValues: [Int: UInt8]

  /// The character that stands for a space in token texts, U+2581.
  static let spaceMark: Unicode.Scalar = "\u{2581}"

  /// Builds a tokenizer; there is one score per token, no score is NaN, and every byte token is
  /// spelled `<0xNN>` (two hex digits).
  public init(vocabulary: Vocabulary, scores: [Float], addsSpacePrefix: Bool = true) throws(TokenizerError) {
    guard scores.count == vocabulary.count else {
      throw .invalidVocabulary("\(scores.count) scores for \(vocabulary.count) tokens")
    }
    if let id = scores.firstIndex(where: \.isNaN) { throw .invalidVocabulary("token \(id) has the score nan") }
    var pieceIDs: [String: Int] = [:]
    var byteIDs = [Int?](repeating: nil, count: 256)
    var byteValues: [Int: UInt8] = [:]
    for (id, text) in vocabulary.tokens.enumerated() {
      switch vocabulary.tokenTypes[id] {
      case .normal, .userDefined:
        if pieceIDs[text] == nil { pieceIDs[text] = id }
      case .byte:
        guard let byte = Self.byteValue(text) else {
          throw .invalidVocabulary("byte token \(id) '\(text)' is not spelled <0xNN>")
        }
        byteValues[id] = byte
        if byteIDs[Int(byte)] == nil { byteIDs[Int(byte)] = id }
      case .unknown, .control, .unused: break
      }
    }
    self.vocabulary = vocabulary
    self.scores = scores
    self.addsSpacePrefix = addsSpacePrefix
    self.pieceIDs = pieceIDs
    self.byteIDs = byteIDs
    self.byteValues = byteValues
  }

  /// The merged pieces of `segment` (spaces as `▁`, one in front with ``addsSpacePrefix``) as
  /// token ids, with byte or unknown tokens for the scalars that are not tokens.
  public func encode(segment: String) throws(TokenizerError) -> [Int] {
    var escaped = String.UnicodeScalarView()
    if addsSpacePrefix { escaped.append(Self.spaceMark) }
    escaped.append(contentsOf: segment.unicodeScalars.lazy.map { $0 == " " ? Self.spaceMark : $0 })
    var result: [Int] = []
    for piece in mergedPieces(Array(String(escaped).utf8)) {
      if let id = pieceIDs[piece] {
        result.append(id)
      } else {
        result += try fallback(piece)
      }
    }
    return result
  }

  /// A byte token's byte; any other token's text with `▁` as a space, without the leading space
  /// when it starts a run of text and ``addsSpacePrefix``.
  public func bytes(piece id: Int, startsSegment: Bool) -> [UInt8] {
    if let byte = byteValues[id] { return [byte] }
    var scalars = Substring(vocabulary.tokens[id]).unicodeScalars
    if startsSegment && addsSpacePrefix && scalars.first == Self.spaceMark { scalars = scalars.dropFirst() }
    var text = String.UnicodeScalarView()
    text.append(contentsOf: scalars.lazy.map { $0 == Self.spaceMark ? " " : $0 })
    return Array(String(text).utf8)
  }

  /// The byte tokens of `piece`'s UTF-8 bytes when the vocabulary has them all, else the unknown
  /// token.
  private func fallback(_ piece: String) throws(TokenizerError) -> [Int] {
    let ids = piece.utf8.compactMap { byteIDs[Int($0)] }
    if ids.count == piece.utf8.count { return ids }
    guard let unknownID = vocabulary.unknownID else { throw .unknownPiece(piece) }
    return [unknownID]
  }

  /// The byte that `<0xNN>` spells.
  private static func byteValue(_ text: String) -> UInt8? {
    guard text.utf8.count == 6, text.hasPrefix("<0x"), text.hasSuffix(">") else { return nil }
    let digits = text.dropFirst(3).dropLast()
    guard digits.allSatisfy(\.isHexDigit) else { return nil }
    return UInt8(digits, radix: 16)
  }
}
