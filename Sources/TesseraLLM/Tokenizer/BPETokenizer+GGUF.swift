extension BPETokenizer {
  /// The tokenizer a `gpt2` GGUF vocabulary describes (`tokenizer.ggml.*`): tokens, optional
  /// token types and bos/eos/unknown ids, `add_bos_token` (default false), `merges` and the
  /// pre-tokenizer name `pre`. Arrays declared with the wrong element type are rejected as
  /// ``GGUFError/wrongType(key:expected:found:)``.
  public init(gguf file: GGUFFile) throws {
    let vocabulary = try Vocabulary(gguf: file, model: "gpt2", addsBOSByDefault: false)
    try self.init(
      vocabulary: vocabulary, merges: try file.stringArray("tokenizer.ggml.merges"),
      preTokenizer: try PreTokenizer(ggufName: try file.optional("tokenizer.ggml.pre", file.string)))
  }
}
