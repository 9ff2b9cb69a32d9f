/// GPT-2-style byte-level BPE (`tokenizer.ggml.model = "gpt2"`): the text between special tokens
/// → pre-tokenizer words → bytes spelled in ``ByteLevelAlphabet`` → merges applied by rank →
/// token ids; and back.
public struct BPETokenizer: Tokenizer {
  /// The tokens (byte-level spelling for normal tokens), their types and the special ids.
  public let vocabulary: Vocabulary
  /// How text is split into words before BPE.
  public let preTokenizer: PreTokenizer
  private let ids: [String: Int]
  private let mergeRanks: [MergePair: Int]

  private struct MergePair: Hashable {
    var left: String
    var right: String
  }

  /// Builds a tokenizer; `merges` are `"left right"` rules, highest priority first.
  public init(
    vocabulary: Vocabulary, merges: [String], preTokenizer: PreTokenizer = PreTokenizer(style: .gpt2)
  ) throws(TokenizerError) {
    var ranks: [MergePair: Int] = [:]
    for (rank, rule) in merges.enumerated() {
      let parts = rule.split(separator: " ", omittingEmptySubsequences: false)
      guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { throw .invalidMerge(index: rank, text: rule) }
      let pair = MergePair(left: String(parts[0]), right: String(parts[1]))
      if ranks[pair] == nil { ranks[pair] = rank }
    }
    var ids: [String: Int] = [:]
    for (id, token) in vocabulary.tokens.enumerated() where ids[token] == nil { ids[token] = id }
    self.vocabulary = vocabulary
    self.preTokenizer = preTokenizer
    self.ids = ids
    mergeRanks = ranks
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

  /// Merges the characters of `word` by rank (every occurrence of the best pair, left to right,
  /// until no pair has a rank) and maps the pieces to ids.
  private func bpe(_ word: String) throws(TokenizerError) -> [Int] {
    var pieces = word.unicodeScalars.map(String.init)
    while pieces.count > 1 {
      var best: (rank: Int, pair: MergePair)?
      for index in 0..<(pieces.count - 1) {
        let pair = MergePair(left: pieces[index], right: pieces[index + 1])
        if let rank = mergeRanks[pair], rank < best?.rank ?? .max { best = (rank, pair) }
      }
      guard let best else { break }
      var merged: [String] = []
      var index = 0
      while index < pieces.count {
        if index + 1 < pieces.count && pieces[index] == best.pair.left && pieces[index + 1] == best.pair.right {
          merged.append(best.pair.left + best.pair.right)
          index += 2
        } else {
          merged.append(pieces[index])
          index += 1
        }
      }
      pieces = merged
    }
    var result: [Int] = []
    for piece in pieces {
      if let id = ids[piece] {
        result.append(id)
      } else if let unknownID = vocabulary.unknownID {
        result.append(unknownID)
      } else {
        throw .unknownPiece(piece)
      }
    }
    return result
  }
}
