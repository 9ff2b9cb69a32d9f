import Tessera
import TesseraTestSupport
import Testing

/// llama (SentencePiece) vocabularies read from GGUF metadata, alone and inside a model.
@Suite struct SentencePieceGGUFTests {
  typealias Metadata = [(key: String, value: GGUFValue)]

  /// `tokenizer.ggml.*` metadata for a llama vocabulary: bos 1, eos 2, unknown 0, then `extra`.
  static func metadata(_ entries: [(text: String, type: TokenType, score: Float)], extra: Metadata = []) -> Metadata {
    [
      ("tokenizer.ggml.model", .string("llama")),
      ("tokenizer.ggml.tokens", .array(GGUFArray(elementType: .string, elements: entries.map { .string($0.text) }))),
      ("tokenizer.ggml.scores", .array(GGUFArray(elementType: .float32, elements: entries.map { .float32($0.score) }))),
      (
        "tokenizer.ggml.token_type",
        .array(GGUFArray(elementType: .int32, elements: entries.map { .int32(Int32($0.type.rawValue)) }))
      ),
      ("tokenizer.ggml.bos_token_id", .uint32(1)), ("tokenizer.ggml.eos_token_id", .uint32(2)),
      ("tokenizer.ggml.unknown_token_id", .uint32(0)),
    ] + extra
  }

  /// The hand-made vocabulary's metadata with `key` replaced by `value` (removed for `nil`).
  func replacing(_ key: String, with value: GGUFValue?) -> Metadata {
    var metadata = Self.metadata(HandVocabulary.pieces)
    metadata.removeAll { $0.key == key }
    if let value { metadata.append((key, value)) }
    return metadata
  }

  /// A file holding only `metadata`, opened.
  func open(_ metadata: Metadata) throws -> GGUFFile {
    var writer = GGUFWriter()
    writer.metadata = metadata
    let path = TestSupport.temporaryDirectory("spm-gguf") + "/vocabulary.gguf"
    try writer.write(to: path)
    return try GGUFFile(path: path)
  }

  @Test func readsTheVocabularyAndItsFlags() throws {
    let tokenizer = try open(Self.metadata(HandVocabulary.pieces)).tokenizer()
    #expect(tokenizer is SentencePieceTokenizer)
    #expect(tokenizer.bosID == 1 && tokenizer.eosID == 2 && tokenizer.vocabularySize == 14)
    // add_bos_token and add_space_prefix default to true: <s>, then ▁ hello as in
    // SentencePieceTokenizerTests.mergesTheBestScoredPairFirst.
    #expect(try tokenizer.encode("hello") == [1, 3, 13])

    let flags: Metadata = [
      ("tokenizer.ggml.add_bos_token", .bool(false)), ("tokenizer.ggml.add_space_prefix", .bool(false)),
    ]
    let plain = try open(Self.metadata(HandVocabulary.pieces, extra: flags)).tokenizer()
    // No ▁ in front: h e l l o → h e ll o → he ll o → hell o → hello.
    #expect(try plain.encode("hello") == [13])
    #expect(try plain.decode([3, 13]) == " hello")
  }

  @Test func rejectsMalformedMetadata() throws {
    let pieces = HandVocabulary.pieces
    let shortScores = GGUFValue.array(
      GGUFArray(elementType: .float32, elements: pieces.dropLast().map { .float32($0.score) }))
    #expect(throws: TokenizerError.invalidVocabulary("13 scores for 14 tokens")) {
      try open(replacing("tokenizer.ggml.scores", with: shortScores)).tokenizer()
    }
    let codes = pieces.map { GGUFValue.int32(Int32($0.type.rawValue)) }
    var badCodes = codes
    badCodes[4] = .int32(9)
    #expect(throws: TokenizerError.invalidVocabulary("token 4 has type code 9; the codes are 1 to 6")) {
      try open(replacing("tokenizer.ggml.token_type", with: .array(GGUFArray(elementType: .int32, elements: badCodes))))
        .tokenizer()
    }
    let shortTypes = GGUFValue.array(GGUFArray(elementType: .int32, elements: Array(codes.dropLast())))
    #expect(throws: TokenizerError.invalidVocabulary("13 token types for 14 tokens")) {
      try open(replacing("tokenizer.ggml.token_type", with: shortTypes)).tokenizer()
    }
    #expect(throws: GGUFError.missingKey("tokenizer.ggml.tokens")) {
      try open(replacing("tokenizer.ggml.tokens", with: nil)).tokenizer()
    }
    #expect(throws: GGUFError.missingKey("tokenizer.ggml.scores")) {
      try open(replacing("tokenizer.ggml.scores", with: nil)).tokenizer()
    }
    let integerScores = GGUFValue.array(GGUFArray(elementType: .int32, elements: pieces.map { _ in .int32(0) }))
    #expect(
      throws: GGUFError.wrongType(key: "tokenizer.ggml.scores", expected: "array of f32", found: "array of i32")
    ) { try open(replacing("tokenizer.ggml.scores", with: integerScores)).tokenizer() }
    #expect(throws: TokenizerError.specialTokenOutOfRange(name: "bos", id: 99, vocabularySize: 14)) {
      try open(replacing("tokenizer.ggml.bos_token_id", with: .uint32(99))).tokenizer()
    }
  }

  @Test func aModelNameOtherThanGPT2OrLlamaIsNamedInTheError() throws {
    let error = TokenizerError.unsupportedModel("bert")
    #expect(throws: error) { try open(replacing("tokenizer.ggml.model", with: .string("bert"))).tokenizer() }
    #expect(error.description.contains("'bert'"))
    #expect(throws: TokenizerError.modelMismatch(expected: "gpt2", found: "llama")) {
      try BPETokenizer(gguf: try open(Self.metadata(HandVocabulary.pieces)))
    }
  }

  @Test func aTinyLlamaWithASentencePieceVocabularyLoadsAndGenerates() throws {
    // TinyLlama's 48 tokens: the hand-made pieces (0…13), <0xC3> 14, <0xA9> 15, 32 unused.
    let entries =
      HandVocabulary.pieces + [0xC3, 0xA9].map { (HandVocabulary.byteToken($0), TokenType.byte, Float(0)) }
      + (0..<32).map { ("<unused\($0)>", TokenType.unused, Float(0)) }
    func write(_ metadata: Metadata) throws -> String {
      var writer = TinyLlama().writer
      writer.metadata.removeAll { $0.key.hasPrefix("tokenizer.") }
      writer.metadata += metadata
      let path = TestSupport.temporaryDirectory("spm-tiny-llama") + "/tiny.gguf"
      try writer.write(to: path)
      return path
    }
    let model = try LlamaModel(path: try write(Self.metadata(entries)))
    #expect(model.tokenizer is SentencePieceTokenizer)
    // "hello é" → ▁ h e l l o ▁ é → ▁ hello ▁ é (the merges of mergesTheBestScoredPairFirst;
    // "o▁" and "▁é" are no tokens), é as its bytes: <s> ▁ hello ▁ <0xC3> <0xA9>.
    let prompt = try model.tokenizer.encode("hello é")
    #expect(prompt == [1, 3, 13, 3, 14, 15])
    var generator = Generator(session: try LlamaSession(model: model, device: ReferenceDevice(), context: 12))
    generator.stopTokens = []
    let result = try generator.generate(prompt: prompt, maxTokens: 4)
    let whole = try model.tokenizer.bytes(result.generatedTokens, skipSpecial: true, after: prompt.last)
    #expect(result.generatedTokens.count == 4 && result.text == String(decoding: whole, as: UTF8.self))

    let bert = Self.metadata(entries).map { $0.key == "tokenizer.ggml.model" ? ($0.key, .string("bert")) : $0 }
    #expect(throws: TokenizerError.unsupportedModel("bert")) { try LlamaModel(path: try write(bert)) }
  }
}
