/// GPT-2-style byte-level BPE: text → special tokens matched whole → pre-tokenizer words →
/// bytes spelled in ``ByteLevelAlphabet`` → merges applied by rank → token ids; and back.
public struct BPETokenizer: Sendable {
  /// Every token's text, indexed by id (byte-level spelling for normal tokens).
  public let tokens: [String]
  /// Every token's type, indexed by id.
  public let tokenTypes: [TokenType]
  /// The beginning-of-sequence token, if the vocabulary has one.
  public let bosID: Int?
  /// The end-of-sequence token, if the vocabulary has one.
  public let eosID: Int?
  /// The token used for pieces the vocabulary lacks, if any.
  public let unknownID: Int?
  /// Whether ``encode(_:addBOS:)`` prepends ``bosID`` by default.
  public let addsBOS: Bool
  /// How text is split into words before BPE.
  public let preTokenizer: PreTokenizer
  private let ids: [String: Int]
  private let mergeRanks: [MergePair: Int]
  /// Special tokens, longest first, as UTF-8 bytes with their ids.
  private let specials: [(bytes: [UInt8], id: Int)]

  private struct MergePair: Hashable {
    var left: String
    var right: String
  }

  /// Builds a tokenizer; `merges` are `"left right"` rules, highest priority first.
  public init(
    tokens: [String], tokenTypes: [TokenType]? = nil, merges: [String], bosID: Int? = nil, eosID: Int? = nil,
    unknownID: Int? = nil, addsBOS: Bool = false, preTokenizer: PreTokenizer = PreTokenizer(style: .gpt2)
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
    var ranks: [MergePair: Int] = [:]
    for (rank, rule) in merges.enumerated() {
      let parts = rule.split(separator: " ", omittingEmptySubsequences: false)
      guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { throw .invalidMerge(index: rank, text: rule) }
      let pair = MergePair(left: String(parts[0]), right: String(parts[1]))
      if ranks[pair] == nil { ranks[pair] = rank }
    }
    var ids: [String: Int] = [:]
    for (id, token) in tokens.enumerated() where ids[token] == nil { ids[token] = id }
    self.tokens = tokens
    self.tokenTypes = types
    self.bosID = bosID
    self.eosID = eosID
    self.unknownID = unknownID
    self.addsBOS = addsBOS
    self.preTokenizer = preTokenizer
    self.ids = ids
    mergeRanks = ranks
    specials = tokens.indices.filter { types[$0].isSpecial && !tokens[$0].isEmpty }
      .map { (Array(tokens[$0].utf8), $0) }.sorted { $0.bytes.count > $1.bytes.count }
  }

  /// The vocabulary size.
  public var vocabularySize: Int { tokens.count }

  /// Token ids for `text`. Special tokens' texts (`<|im_start|>`…) become their ids when
  /// `parseSpecial`; everything else goes through the pre-tokenizer and BPE.
  public func encode(_ text: String, addBOS: Bool? = nil, parseSpecial: Bool = true) throws(TokenizerError) -> [Int] {
    var result: [Int] = []
    if addBOS ?? addsBOS, let bosID { result.append(bosID) }
    for segment in segments(Array(text.utf8), parseSpecial: parseSpecial) {
      switch segment {
      case .special(let id): result.append(id)
      case .text(let bytes):
        for word in preTokenizer.split(String(decoding: bytes, as: UTF8.self)) {
          result += try bpe(ByteLevelAlphabet.encode(word.utf8))
        }
      }
    }
    return result
  }

  /// The UTF-8 bytes that `ids` stand for; special tokens give their text unless `skipSpecial`.
  public func bytes(_ ids: [Int], skipSpecial: Bool = false) throws(TokenizerError) -> [UInt8] {
    var bytes: [UInt8] = []
    for id in ids {
      guard tokens.indices.contains(id) else { throw .invalidTokenID(id, vocabularySize: tokens.count) }
      if tokenTypes[id].isSpecial {
        if !skipSpecial { bytes += Array(tokens[id].utf8) }
        continue
      }
      for scalar in tokens[id].unicodeScalars {
        if let byte = ByteLevelAlphabet.bytes[scalar] {
          bytes.append(byte)
        } else {
          bytes += Array(String(scalar).utf8)
        }
      }
    }
    return bytes
  }

  /// The text `ids` stand for (invalid UTF-8 becomes U+FFFD).
  public func decode(_ ids: [Int], skipSpecial: Bool = false) throws(TokenizerError) -> String {
    String(decoding: try bytes(ids, skipSpecial: skipSpecial), as: UTF8.self)
  }

  private enum Segment {
    case text([UInt8])
    case special(Int)
  }

  /// Cuts `bytes` at every special token (longest match first).
  private func segments(_ bytes: [UInt8], parseSpecial: Bool) -> [Segment] {
    guard parseSpecial, !specials.isEmpty else { return bytes.isEmpty ? [] : [.text(bytes)] }
    var result: [Segment] = []
    var start = 0, index = 0
    while index < bytes.count {
      let match = specials.first { special in
        index + special.bytes.count <= bytes.count
          && bytes[index..<(index + special.bytes.count)].elementsEqual(special.bytes)
      }
      guard let match else {
        index += 1
        continue
      }
      if start < index { result.append(.text(Array(bytes[start..<index]))) }
      result.append(.special(match.id))
      index += match.bytes.count
      start = index
    }
    if start < bytes.count { result.append(.text(Array(bytes[start...]))) }
    return result
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
      } else if let unknownID {
        result.append(unknownID)
      } else {
        throw .unknownPiece(piece)
      }
    }
    return result
  }
}
