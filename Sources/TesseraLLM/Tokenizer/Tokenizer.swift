/// Text to token ids and back, for either vocabulary kind a GGUF file names:
/// ``BPETokenizer`` (GPT-2 byte-level BPE, `gpt2`) or ``SentencePieceTokenizer`` (`llama`).
///
/// A conforming type supplies its algorithm for a run of plain text and for one ordinary token;
/// what is around it is shared: the BOS token, special tokens matched whole in the text (each run
/// of text between them is encoded on its own), special tokens' text on the way back, and the
/// check that each id is in the vocabulary. ``GGUFFile/tokenizer()`` picks the kind.
public protocol Tokenizer: Sendable {
  /// The tokens, their types and the special ids.
  var vocabulary: Vocabulary { get }

  /// Token ids for `segment`: non-empty text with no special token in it, which either starts
  /// the input or follows a special token.
  func encode(segment: String) throws(TokenizerError) -> [Int]

  /// The UTF-8 bytes of token `id` (in the vocabulary, not special); `startsSegment` is true when
  /// the token starts the sequence or follows a special token.
  func bytes(piece id: Int, startsSegment: Bool) -> [UInt8]
}

extension Tokenizer {
  /// The vocabulary size.
  public var vocabularySize: Int { vocabulary.count }
  /// The beginning-of-sequence token, if the vocabulary has one.
  public var bosID: Int? { vocabulary.bosID }
  /// The end-of-sequence token, if the vocabulary has one.
  public var eosID: Int? { vocabulary.eosID }

  /// Token ids for `text`, after ``bosID`` when `addBOS` (default: the vocabulary's
  /// ``Vocabulary/addsBOS``). Special tokens' texts (`<s>`, `<|im_start|>`…) become their ids
  /// when `parseSpecial`; the text between them goes through the tokenizer's algorithm.
  public func encode(_ text: String, addBOS: Bool? = nil, parseSpecial: Bool = true) throws(TokenizerError) -> [Int] {
    var result: [Int] = []
    if addBOS ?? vocabulary.addsBOS, let bosID { result.append(bosID) }
    for segment in vocabulary.segments(text, parseSpecial: parseSpecial) {
      switch segment {
      case .special(let id): result.append(id)
      case .text(let text): result += try encode(segment: text)
      }
    }
    return result
  }

  /// The UTF-8 bytes that `ids` stand for, read as coming after token `previous` (`nil`: they
  /// start the sequence). Special tokens give their text, except control tokens (`<bos>`,
  /// `<|im_end|>`…) with `skipSpecial`: user-defined tokens are text (Gemma's runs of newlines
  /// and spaces are user-defined), as llama.cpp renders them.
  public func bytes(_ ids: [Int], skipSpecial: Bool = false, after previous: Int? = nil) throws(TokenizerError)
    -> [UInt8]
  {
    var result: [UInt8] = []
    var previous = previous
    for id in ids {
      let type = try vocabulary.type(of: id)
      if type.isSpecial {
        if !(skipSpecial && type == .control) { result += vocabulary.tokens.utf8(at: id) }
      } else {
        result += bytes(piece: id, startsSegment: vocabulary.startsSegment(after: previous))
      }
      previous = id
    }
    return result
  }

  /// The text `ids` stand for, from the start of a sequence (invalid UTF-8 becomes U+FFFD).
  public func decode(_ ids: [Int], skipSpecial: Bool = false) throws(TokenizerError) -> String {
    String(decoding: try bytes(ids, skipSpecial: skipSpecial), as: UTF8.self)
  }
}
