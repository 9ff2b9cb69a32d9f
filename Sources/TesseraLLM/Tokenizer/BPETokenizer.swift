/// GPT-2-style byte-level BPE (`tokenizer.ggml.model = "gpt2"`): the text between special tokens
/// → pre-tokenizer words → bytes spelled in ``ByteLevelAlphabet`` → merges applied by rank →
/// token ids; and back.
public struct BPETokenizer: Tokenizer {
  /// The tokens (byte-level spelling for normal tokens), their types and the special ids.
  public let vocabulary: Vocabulary
  /// How text is split into words before BPE.
  public let preTokenizer: PreTokenizer
  private let merges: BPEMerges

  /// Builds a tokenizer; `merges` are `"left right"` rules, highest priority first.
  public init(
    vocabulary: Vocabulary, merges: PackedStrings, preTokenizer: PreTokenizer = PreTokenizer(style: .gpt2)
  ) throws(TokenizerError) {
    self.merges = try BPEMerges(tokens: vocabulary.tokens, merges: merges)
    self.vocabulary = vocabulary
    self.preTokenizer = preTokenizer
  }

  /// The pre-tokenizer's words of `segment`, each spelled in ``ByteLevelAlphabet`` and merged.
  public func encode(segment: String) throws(TokenizerError) -> [Int] {
    var result: [Int] = []
    for word in preTokenizer.split(segment) { result += try bpe(ByteLevelAlphabet.encode(word.utf8)) }
    return result
  }

  /// The bytes the token's characters stand for in ``ByteLevelAlphabet`` (others as UTF-8).
  public func bytes(piece id: Int, startsSegment: Bool) -> [UInt8] {
    var bytes: [UInt8] = []
    for scalar in vocabulary.tokens[id].unicodeScalars {
      if let byte = ByteLevelAlphabet.bytes[scalar] {
        bytes.append(byte)
      } else {
        bytes += Array(String(scalar).utf8)
      }
    }
    return bytes
  }

  /// Merges the characters of `word` by rank (``BPEMerges``) and maps the pieces to ids: a piece
  /// no token has becomes the unknown token, or fails without one.
  private func bpe(_ word: String) throws(TokenizerError) -> [Int] {
    var result: [Int] = []
    for piece in merges.merge(word) {
      switch piece {
      case .token(let id): result.append(id)
      case .unknown(let text):
        guard let unknownID = vocabulary.unknownID else { throw .unknownPiece(text) }
        result.append(unknownID)
      }
    }
    return result
  }
}
