extension SentencePieceTokenizer {
  /// The tokenizer a `llama` GGUF vocabulary describes (`tokenizer.ggml.*`): tokens, optional
  /// token types and bos/eos/unknown ids, `add_bos_token` (default true), the f32 `scores`
  /// (required) and `add_space_prefix` (default true). Arrays declared with the wrong element
  /// type are rejected as ``GGUFError/wrongType(key:expected:found:)``.
  public init(gguf file: GGUFFile) throws {
    let vocabulary = try Vocabulary(gguf: file, model: "llama", addsBOSByDefault: true)
    try self.init(
      vocabulary: vocabulary, scores: try file.floatArray("tokenizer.ggml.scores"),
      addsSpacePrefix: try file.optional("tokenizer.ggml.add_space_prefix", file.bool) ?? true)
  }
}
