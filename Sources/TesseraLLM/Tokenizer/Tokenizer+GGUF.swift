extension BPETokenizer {
  /// The tokenizer a GGUF file describes (`tokenizer.ggml.*`): tokens, merges, token types,
  /// bos/eos/unknown ids, `add_bos_token` and the pre-tokenizer name. Arrays declared with the
  /// wrong element type are rejected as ``GGUFError/wrongType(key:expected:found:)``.
  public init(gguf file: GGUFFile) throws {
    let model = try file.string("tokenizer.ggml.model")
    guard model == "gpt2" else { throw TokenizerError.unsupportedModel(model) }
    let tokens = try file.stringArray("tokenizer.ggml.tokens")
    let merges = try file.stringArray("tokenizer.ggml.merges")
    var types: [TokenType]?
    if file.metadata["tokenizer.ggml.token_type"] != nil {
      types = try file.integerArray("tokenizer.ggml.token_type").map { TokenType(rawValue: $0) ?? .normal }
    }
    func optionalID(_ key: String) throws -> Int? { file.metadata[key] == nil ? nil : try file.integer(key) }
    let pre = file.metadata["tokenizer.ggml.pre"] == nil ? nil : try file.string("tokenizer.ggml.pre")
    let addsBOS =
      file.metadata["tokenizer.ggml.add_bos_token"] == nil ? false : try file.bool("tokenizer.ggml.add_bos_token")
    try self.init(
      tokens: tokens, tokenTypes: types, merges: merges, bosID: try optionalID("tokenizer.ggml.bos_token_id"),
      eosID: try optionalID("tokenizer.ggml.eos_token_id"),
      unknownID: try optionalID("tokenizer.ggml.unknown_token_id"),
      addsBOS: addsBOS, preTokenizer: PreTokenizer(ggufName: pre))
  }
}
