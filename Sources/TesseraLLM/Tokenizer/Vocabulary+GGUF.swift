extension Vocabulary {
  /// The vocabulary of a GGUF file whose `tokenizer.ggml.model` is `model`: `tokens`, optional
  /// `token_type` (codes 1 to 6), optional `bos_token_id`, `eos_token_id`, `unknown_token_id` and
  /// `add_bos_token` (`addsBOSByDefault` when absent), all under `tokenizer.ggml.`. Arrays declared
  /// with the wrong element type are rejected as ``GGUFError/wrongType(key:expected:found:)``.
  init(gguf file: GGUFFile, model: String, addsBOSByDefault: Bool) throws {
    let found = try file.string("tokenizer.ggml.model")
    guard found == model else { throw TokenizerError.modelMismatch(expected: model, found: found) }
    var types: [TokenType]?
    if let codes = try file.optional("tokenizer.ggml.token_type", file.integerArray) {
      types = try codes.enumerated().map { (id, code) throws(TokenizerError) in
        guard let type = TokenType(rawValue: code) else {
          throw .invalidVocabulary("token \(id) has type code \(code); the codes are 1 to 6")
        }
        return type
      }
    }
    try self.init(
      tokens: try file.stringArray("tokenizer.ggml.tokens"), tokenTypes: types,
      bosID: try file.optional("tokenizer.ggml.bos_token_id", file.integer),
      eosID: try file.optional("tokenizer.ggml.eos_token_id", file.integer),
      unknownID: try file.optional("tokenizer.ggml.unknown_token_id", file.integer),
      addsBOS: try file.optional("tokenizer.ggml.add_bos_token", file.bool) ?? addsBOSByDefault)
  }
}
