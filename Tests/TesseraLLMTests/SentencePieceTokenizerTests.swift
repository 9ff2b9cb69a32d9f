import Tessera
import TesseraTestSupport
import Testing

/// A hand-made llama vocabulary: the tests derive their expected ids from these scores by hand.
enum HandVocabulary {
  /// Ids 0…13. Single characters score -10; among the pairs, "ll" and "lo" tie at -2.
  static let pieces: [(text: String, type: TokenType, score: Float)] = [
    ("<unk>", .unknown, 0), ("<s>", .control, 0), ("</s>", .control, 0),
    ("▁", .normal, -10), ("h", .normal, -10), ("e", .normal, -10), ("l", .normal, -10), ("o", .normal, -10),
    ("▁h", .normal, -5), ("he", .normal, -3), ("ll", .normal, -2), ("lo", .normal, -2), ("hell", .normal, -1),
    ("hello", .normal, -0.5),
  ]

  /// The byte token's text, `<0xNN>`.
  static func byteToken(_ byte: UInt8) -> String {
    let hex = String(byte, radix: 16, uppercase: true)
    return "<0x" + (hex.count == 1 ? "0" : "") + hex + ">"
  }

  /// The id of the byte token for `byte` where all 256 byte tokens follow ``pieces``.
  static func byteID(_ byte: UInt8) -> Int { pieces.count + Int(byte) }

  /// The vocabulary as a tokenizer (bos `<s>` added by default, unknown `<unk>` when `unknown`),
  /// with the 256 byte tokens after the pieces when `byteTokens`.
  static func tokenizer(byteTokens: Bool = true, unknown: Bool = true) throws -> SentencePieceTokenizer {
    var entries = pieces
    if byteTokens { entries += (0...255).map { (byteToken($0), .byte, 0) } }
    let vocabulary = try Vocabulary(
      tokens: PackedStrings(entries.map(\.text)), tokenTypes: entries.map(\.type), bosID: 1, eosID: 2,
      unknownID: unknown ? 0 : nil, addsBOS: true)
    return try SentencePieceTokenizer(vocabulary: vocabulary, scores: entries.map(\.score))
  }
}

@Suite struct SentencePieceTokenizerTests {
  @Test func mergesTheBestScoredPairFirst() throws {
    // "hello" → "▁hello" → ▁ h e l l o. Pairs: ▁h -5, he -3, ll -2, lo -2 ("el" is no token).
    // ll and lo tie at -2: the leftmost, ll, merges → ▁ h e ll o (e+ll, ll+o make no token).
    // he -3 beats ▁h -5 → ▁ he ll o; he+ll = hell -1 → ▁ hell o; hell+o = hello -0.5 →
    // ▁ hello, and "▁hello" is no token: [▁ 3, hello 13]. ▁h was never the best pair.
    #expect(try HandVocabulary.tokenizer().encode("hello", addBOS: false) == [3, 13])
    #expect(try HandVocabulary.tokenizer().encode("hello hello", addBOS: false) == [3, 13, 3, 13])
  }

  @Test func equalScoresMergeTheLeftmostPair() throws {
    // "llo" → ▁ l l o. ll -2 and lo -2 tie; ll is further left → ▁ ll o; "llo" is no token:
    // [▁ 3, ll 10, o 7] (merging lo first would have given [3, 6, 11]).
    #expect(try HandVocabulary.tokenizer().encode("llo", addBOS: false) == [3, 10, 7])
  }

  @Test func addsBOSAndMatchesSpecialTokensWhole() throws {
    let tokenizer = try HandVocabulary.tokenizer()
    #expect(try tokenizer.encode("hello") == [1, 3, 13])
    // Each run of text between special tokens gets its own ▁ in front.
    #expect(try tokenizer.encode("<s>hello</s>hello", addBOS: false) == [1, 3, 13, 2, 3, 13])
    // Not parsed, "<s>" is text; merging never makes a control token, so it is ▁ and 3 bytes.
    #expect(
      try tokenizer.encode("<s>", addBOS: false, parseSpecial: false)
        == [3, HandVocabulary.byteID(0x3C), HandVocabulary.byteID(0x73), HandVocabulary.byteID(0x3E)])
  }

  @Test func charactersOutsideTheVocabularyFallBackToBytes() throws {
    let tokenizer = try HandVocabulary.tokenizer()
    // "é" is U+00E9, UTF-8 C3 A9; no token spells it: ▁ then <0xC3> <0xA9>.
    #expect(
      try tokenizer.encode("é", addBOS: false) == [3, HandVocabulary.byteID(0xC3), HandVocabulary.byteID(0xA9)])
    // 🦙 is U+1F999, UTF-8 F0 9F A6 99.
    #expect(try tokenizer.encode("🦙", addBOS: false) == [3] + [0xF0, 0x9F, 0xA6, 0x99].map(HandVocabulary.byteID))
  }

  @Test func withoutByteTokensTheUnknownTokenStandsIn() throws {
    // "hé" → ▁ h é: ▁h -5 is the only pair that makes a token → ▁h é; é is no token and has no
    // byte tokens: [▁h 8, <unk> 0].
    #expect(try HandVocabulary.tokenizer(byteTokens: false).encode("hé", addBOS: false) == [8, 0])
    #expect(throws: TokenizerError.unknownPiece("é")) {
      try HandVocabulary.tokenizer(byteTokens: false, unknown: false).encode("hé")
    }
  }

  @Test func decodesSpacesBytesAndSpecialTokens() throws {
    let tokenizer = try HandVocabulary.tokenizer()
    let (c3, a9) = (HandVocabulary.byteID(0xC3), HandVocabulary.byteID(0xA9))
    // The ▁ that encoding put in front of a run of text is dropped, at the start and after <s>.
    #expect(try tokenizer.decode([3, 13, 3, 13]) == "hello hello")
    #expect(try tokenizer.decode([8, 12]) == "hhell")
    #expect(try tokenizer.decode([1, 3, 13, 3, c3, a9]) == "<s>hello é")
    #expect(try tokenizer.decode([1, 3, 13, 3, c3, a9], skipSpecial: true) == "hello é")
    // Read as a continuation, the leading ▁ is a space.
    #expect(try tokenizer.bytes([8], after: 13) == Array(" h".utf8))
    // A byte sequence that is not UTF-8 becomes U+FFFD.
    #expect(try tokenizer.decode([c3, 7]) == "\u{FFFD}o")
    #expect(throws: TokenizerError.invalidTokenID(270, vocabularySize: 270)) { try tokenizer.decode([270]) }
  }

  @Test(arguments: [
    "hello hello", "Hello, World!", "  two leading, two trailing  ", "tabs\tand\nnew\n\nlines", "naïve café — ünï",
    "emoji 🦙🎉👩‍👩‍👧 ok", "日本語のテキスト", "<s>hello</s> after </s>",
  ])
  func roundTrips(text: String) throws {
    let tokenizer = try HandVocabulary.tokenizer()
    #expect(try tokenizer.decode(try tokenizer.encode(text)) == "<s>" + text)
    #expect(try tokenizer.decode(try tokenizer.encode(text, addBOS: false, parseSpecial: false)) == text)
  }

  @Test func streamingHoldsBackCharactersSplitAcrossByteTokens() throws {
    let tokenizer = try HandVocabulary.tokenizer()
    var stream = StreamingDecoder(tokenizer: tokenizer)
    #expect(try stream.push(1) == "")
    #expect(try stream.push(3) == "")
    #expect(try stream.push(13) == "hello")
    #expect(try stream.push(3) == " ")
    let llama = [0xF0, 0x9F, 0xA6, 0x99].map(HandVocabulary.byteID)
    let pieces = try llama.map { try stream.push($0) }
    #expect(pieces == ["", "", "", "🦙"])
    #expect(try stream.push(HandVocabulary.byteID(0xC3)) == "")
    #expect(stream.finish() == "\u{FFFD}")

    var continuation = StreamingDecoder(tokenizer: tokenizer, after: 13)
    #expect(try continuation.push(3) == " ")
  }

  @Test func rejectsInconsistentVocabularies() throws {
    let vocabulary = try Vocabulary(tokens: ["<unk>", "<0xZZ>"], tokenTypes: [.unknown, .byte])
    #expect(throws: TokenizerError.invalidVocabulary("1 scores for 2 tokens")) {
      try SentencePieceTokenizer(vocabulary: vocabulary, scores: [0])
    }
    #expect(throws: TokenizerError.invalidVocabulary("token 0 has the score nan")) {
      try SentencePieceTokenizer(vocabulary: vocabulary, scores: [.nan, 0])
    }
    #expect(throws: TokenizerError.invalidVocabulary("byte token 1 '<0xZZ>' is not spelled <0xNN>")) {
      try SentencePieceTokenizer(vocabulary: vocabulary, scores: [0, 0])
    }
  }
}
