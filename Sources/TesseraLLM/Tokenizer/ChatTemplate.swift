/// The ChatML prompt format that SmolLM2-Instruct (and many instruct models) are trained on:
/// `<|im_start|>role\ncontent<|im_end|>\n` per message, then `<|im_start|>assistant\n` to let the
/// model answer.
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

  /// SmolLM2-Instruct's own default system message, which its template inserts when the
  /// conversation has none.
  public static let smolLM2System = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

  /// The system message used when a conversation starts without one; `nil` for none.
  public var defaultSystem: String?

  /// Creates a template.
  public init(defaultSystem: String? = ChatTemplate.smolLM2System) { self.defaultSystem = defaultSystem }

  /// The prompt text for `messages`, ending with the assistant's turn opened.
  public func render(_ messages: [Message]) -> String {
    var all = messages
    if let defaultSystem, all.first?.role != "system" {
      all.insert(Message(role: "system", content: defaultSystem), at: 0)
    }
    return all.map { "<|im_start|>\($0.role)\n\($0.content)<|im_end|>\n" }.joined() + "<|im_start|>assistant\n"
  }

  /// The prompt for one user message.
  public func render(user: String) -> String { render([Message(role: "user", content: user)]) }
}
