import Tessera
import TesseraLLM
import TesseraTestSupport
import Testing

@Suite struct TokenizerTests {
  /// A hand-written vocabulary; the expected ids below are derived by hand from these merges.
  func tiny() throws -> BPETokenizer {
    let tokens: PackedStrings = [
      "h", "e", "l", "o", "w", "r", "d", "Ġ", "ll", "he", "hell", "hello", "Ġw", "or", "Ġwor", "<|end|>", "!", "a",
      "aa",
    ]
    var types = [TokenType](repeating: .normal, count: tokens.count)
    types[15] = .control
    return try BPETokenizer(
      vocabulary: try Vocabulary(tokens: tokens, tokenTypes: types, eosID: 15),
      merges: ["l l", "h e", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "a a"])
  }

  @Test func byteAlphabetMapsUnprintableBytesPastLatin1() {
    #expect(ByteLevelAlphabet.encode(Array(" \n!é".utf8)) == "ĠĊ!Ã©")
  }

  @Test(arguments: [
    ("Hello world", ["Hello", " world"]),
    ("I'm here, don't", ["I", "'m", " here", ",", " don", "'t"]),
    ("a  b", ["a", " ", " b"]),
    ("x\n\ny", ["x", "\n", "\n", "y"]),
    ("hi!!  ", ["hi", "!!", "  "]),
    ("abc123 4", ["abc", "123", " 4"]),
    (" ?!", [" ?!"]),
  ])
  func gpt2PreTokenizerSplits(text: String, words: [String]) {
    #expect(PreTokenizer(style: .gpt2).split(text) == words)
  }

  @Test func smollmSplitsEveryDigit() throws {
    #expect(try PreTokenizer(ggufName: "smollm").split("abc123 45") == ["abc", "1", "2", "3", " ", "4", "5"])
  }

  @Test func mergesApplyByRank() throws {
    let tokenizer = try tiny()
    // hello: l+l (0), h+e (1), he+ll (2), hell+o (3). " world": Ġ+w (4), o+r (5), Ġw+or (6), then l, d.
    #expect(try tokenizer.encode("hello world!") == [11, 14, 2, 6, 16])
    #expect(try tokenizer.encode("aaa") == [18, 17])
  }

  @Test func specialTokensMatchWholeAndRoundTrip() throws {
    let tokenizer = try tiny()
    let ids = try tokenizer.encode("hello<|end|>hello")
    #expect(ids == [11, 15, 11])
    #expect(throws: TokenizerError.unknownPiece("<")) { try tokenizer.encode("<|end|>", parseSpecial: false) }
    #expect(try tokenizer.decode(ids) == "hello<|end|>hello")
    #expect(try tokenizer.decode(ids, skipSpecial: true) == "hellohello")
    #expect(try tokenizer.decode(try tokenizer.encode("hello world!")) == "hello world!")
    #expect(throws: TokenizerError.invalidTokenID(99, vocabularySize: 19)) { try tokenizer.decode([99]) }
  }

  @Test func missingPiecesNeedAnUnknownToken() throws {
    #expect(throws: TokenizerError.unknownPiece("z")) { try tiny().encode("z") }
    #expect(throws: TokenizerError.invalidMerge(index: 0, text: "ab")) {
      try BPETokenizer(vocabulary: try Vocabulary(tokens: ["a"]), merges: ["ab"])
    }
  }

  @Test("a merge whose result no token has, and a scalar no token or rule names, are unknown pieces")
  func mergesBeyondTheVocabulary() throws {
    // "abcx": a+b → "ab" (rank 0); "ab"+"c" → "abc" (rank 1), which no token has; "x" is in no
    // rule. Pieces: "abc", "x".
    let vocabulary = try Vocabulary(tokens: ["a", "b", "ab", "<unk>"], unknownID: 3)
    let tokenizer = try BPETokenizer(vocabulary: vocabulary, merges: ["a b", "ab c"])
    #expect(try tokenizer.encode(segment: "abcx") == [3, 3])
    #expect(try tokenizer.encode(segment: "abab") == [2, 2])
    let strict = try BPETokenizer(vocabulary: try Vocabulary(tokens: ["a", "b", "ab"]), merges: ["a b", "ab c"])
    #expect(throws: TokenizerError.unknownPiece("abc")) { try strict.encode(segment: "abc") }
    #expect(throws: TokenizerError.unknownPiece("x")) { try strict.encode(segment: "abx") }
    // The first rule for a pair wins; a later duplicate keeps the earlier rank.
    let ranked = try BPETokenizer(
      vocabulary: try Vocabulary(tokens: ["a", "b", "c", "ab", "bc"]), merges: ["b c", "a b", "b c"])
    #expect(try ranked.encode(segment: "abc") == [0, 4])
  }

  @Test func userDefinedTokensAreTextEvenWhenSkippingSpecialOnes() throws {
    let vocabulary = try Vocabulary(tokens: ["a", "\n\n", "<end>"], tokenTypes: [.normal, .userDefined, .control])
    let tokenizer = try BPETokenizer(vocabulary: vocabulary, merges: [])
    #expect(try tokenizer.decode([0, 1, 2, 0], skipSpecial: true) == "a\n\na")
    #expect(try tokenizer.decode([0, 1, 2, 0]) == "a\n\n<end>a")
  }

  @Test func streamingHoldsBackSplitCharacters() throws {
    let tokenizer = try BPETokenizer(vocabulary: try Vocabulary(tokens: ["Ã", "©", "a"]), merges: [])
    var stream = StreamingDecoder(tokenizer: tokenizer)
    #expect(try stream.push(2) == "a")
    #expect(try stream.push(0) == "")
    #expect(try stream.push(1) == "é")
    #expect(try stream.push(0) == "")
    #expect(stream.finish() == "\u{FFFD}")
  }
}
