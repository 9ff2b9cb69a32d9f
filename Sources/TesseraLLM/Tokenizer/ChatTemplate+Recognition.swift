extension ChatTemplate {
  /// The format that a Jinja `chat_template` is written for, recognised by the markers it
  /// emits: `<|im_start|>` (ChatML), `<|start_header_id|>` (Llama 3), `<start_of_turn>`
  /// (Gemma). A ChatML template that writes a fixed system message when the conversation has
  /// none (SmolLM2, Qwen 2.5) gives that message as ``defaultSystem``. Any other template is
  /// ``TokenizerError/unknownChatTemplate(_:)``.
  public init(recognizing template: String) throws(TokenizerError) {
    if template.contains("<|im_start|>") {
      self.init(format: .chatML, defaultSystem: Self.literalSystem(in: template))
    } else if template.contains("<|start_header_id|>") && template.contains("<|eot_id|>") {
      self.init(format: .llama3, defaultSystem: nil)
    } else if template.contains("<start_of_turn>") && template.contains("<end_of_turn>") {
      self.init(format: .gemma, defaultSystem: nil)
    } else {
      throw .unknownChatTemplate(String(template.prefix(60)))
    }
  }

  /// The fixed text between `<|im_start|>system` plus a newline and `<|im_end|>`, when the
  /// template writes one there (no expression: no quotes, braces or `+` in it).
  private static func literalSystem(in template: String) -> String? {
    for newline in ["\n", "\\n"] {
      guard let opening = template.range(of: "<|im_start|>system" + newline),
        let closing = template.range(of: "<|im_end|>", range: opening.upperBound..<template.endIndex)
      else { continue }
      let text = template[opening.upperBound..<closing.lowerBound]
      if !text.isEmpty, !text.contains(where: { "'\"{}+".contains($0) }) { return String(text) }
    }
    return nil
  }
}

extension GGUFFile {
  /// The chat format of the file's `tokenizer.chat_template`; a file without one is
  /// ``TokenizerError/noChatTemplate``.
  public func chatTemplate() throws -> ChatTemplate {
    guard let template = try optional("tokenizer.chat_template", string) else { throw TokenizerError.noChatTemplate }
    return try ChatTemplate(recognizing: template)
  }
}
