/// A chat prompt format: how messages are wrapped before tokenizing, in one of the three
/// formats Tessera knows (``Format``). ``init(recognizing:)`` picks the format a GGUF's
/// `tokenizer.chat_template` is written for; the template itself is not run (no Jinja engine).
public struct ChatTemplate: Sendable, Hashable {
  /// One turn of a conversation.
  public struct Message: Sendable, Hashable {
    /// `system`, `user` or `assistant`.
    public var role: String
    /// What was said.
    public var content: String

    /// Creates a message.
    public init(role: String, content: String) {
      self.role = role
      self.content = content
    }
  }

  /// The prompt formats.
  public enum Format: String, Sendable, Hashable, CaseIterable {
    /// `<|im_start|>role\ncontent<|im_end|>\n` per message (SmolLM2, Qwen 2/2.5/3).
    case chatML
    /// `<|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>` (Llama 3.x).
    case llama3
    /// `<start_of_turn>role\ncontent<end_of_turn>\n`, the assistant called `model`, a system
    /// message put before the first user message (Gemma 2 and 3).
    case gemma
  }

  /// SmolLM2-Instruct's own default system message, which its template inserts when the
  /// conversation has none.
  public static let smolLM2System = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

  /// The format.
  public var format: Format
  /// The system message used when a conversation starts without one; `nil` for none.
  public var defaultSystem: String?

  /// Creates a template.
  public init(format: Format = .chatML, defaultSystem: String? = ChatTemplate.smolLM2System) {
    self.format = format
    self.defaultSystem = defaultSystem
  }

  /// The text that ends a turn: generation stops at its token.
  public var endOfTurn: String {
    switch format {
    case .chatML: "<|im_end|>"
    case .llama3: "<|eot_id|>"
    case .gemma: "<end_of_turn>"
    }
  }

  /// The prompt text for `messages`, ending with the assistant's turn opened. The beginning-of-
  /// sequence token is the tokenizer's to add (``Vocabulary/addsBOS``), as llama.cpp does.
  public func render(_ messages: [Message]) -> String {
    var all = messages
    if let defaultSystem, all.first?.role != "system" {
      all.insert(Message(role: "system", content: defaultSystem), at: 0)
    }
    switch format {
    case .chatML:
      return all.map { "<|im_start|>\($0.role)\n\($0.content)<|im_end|>\n" }.joined() + "<|im_start|>assistant\n"
    case .llama3:
      let turns = all.map { "<|start_header_id|>\($0.role)<|end_header_id|>\n\n\(Self.trimmed($0.content))<|eot_id|>" }
      return turns.joined() + "<|start_header_id|>assistant<|end_header_id|>\n\n"
    case .gemma:
      var prefix = ""
      if all.first?.role == "system" { prefix = Self.trimmed(all.removeFirst().content) + "\n\n" }
      let turns = all.enumerated().map { index, message in
        let role = message.role == "assistant" ? "model" : message.role
        let content = (index == 0 ? prefix : "") + Self.trimmed(message.content)
        return "<start_of_turn>\(role)\n\(content)<end_of_turn>\n"
      }
      return turns.joined() + "<start_of_turn>model\n"
    }
  }

  /// The prompt for one user message.
  public func render(user: String) -> String { render([Message(role: "user", content: user)]) }

  /// `text` without leading and trailing whitespace (the templates' `| trim`).
  private static func trimmed(_ text: String) -> String {
    let scalars = text.unicodeScalars
    guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
      let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
    else { return "" }
    return String(scalars[first...last])
  }
}
