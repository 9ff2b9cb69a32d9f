/// GGUF's `tokenizer.ggml.token_type` codes.
public enum TokenType: Int, Sendable, Hashable {
  case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6

  /// Control and user-defined tokens are matched whole in the text, before BPE.
  public var isSpecial: Bool { self == .control || self == .userDefined }
}
