extension GGUFFile {
  /// The tokenizer this file's `tokenizer.ggml.model` names: `gpt2` gives a ``BPETokenizer``,
  /// `llama` a ``SentencePieceTokenizer``; any other name is
  /// ``TokenizerError/unsupportedModel(_:)``.
  public func tokenizer() throws -> any Tokenizer {
    let model = try string("tokenizer.ggml.model")
    switch model {
    case "gpt2": return try BPETokenizer(gguf: self)
    case "llama": return try SentencePieceTokenizer(gguf: self)
    default: throw TokenizerError.unsupportedModel(model)
    }
  }
}
