import Tessera
import Testing

/// Recognising the chat format from short excerpts of real `tokenizer.chat_template`s, and the
/// prompts each format writes (expected texts written from the formats' documentation).
@Suite struct ChatTemplateTests {
  /// SmolLM2-Instruct's template (excerpt): ChatML with a fixed default system message.
  static let smolLM2 =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    + "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    + "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
  /// Qwen 2.5's (excerpt, with Jinja's escaped newline).
  static let qwen25 =
    "{%- else %}\n        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
    + "assistant.<|im_end|>\\n' }}\n    {%- endif %}"
  /// Qwen 3's (excerpt): ChatML whose system text is an expression.
  static let qwen3 =
    "{%- if messages[0].role == 'system' %}\n        {{- '<|im_start|>system\\n' + messages[0].content + "
    + "'<|im_end|>\\n' }}"
  /// Llama 3.x's (excerpt).
  static let llama3 =
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}"
  /// Gemma 3's (excerpt).
  static let gemma3 =
    "{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else \"\") }}"
    + "{{ item['text'] | trim }}{{ '<end_of_turn>\n' }}"

  @Test func recognisesEachFormatAndItsDefaultSystem() throws {
    #expect(try ChatTemplate(recognizing: Self.smolLM2) == ChatTemplate(format: .chatML))
    #expect(
      try ChatTemplate(recognizing: Self.qwen25)
        == ChatTemplate(
          format: .chatML, defaultSystem: "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."))
    #expect(try ChatTemplate(recognizing: Self.qwen3) == ChatTemplate(format: .chatML, defaultSystem: nil))
    #expect(try ChatTemplate(recognizing: Self.llama3) == ChatTemplate(format: .llama3, defaultSystem: nil))
    #expect(try ChatTemplate(recognizing: Self.gemma3) == ChatTemplate(format: .gemma, defaultSystem: nil))
  }

  @Test func anUnknownTemplateIsAnErrorQuotingItsStart() {
    let vicuna = "{% for message in messages %}{{ 'USER: ' + message['content'] + ' ASSISTANT:' }}{% endfor %}"
    #expect(throws: TokenizerError.unknownChatTemplate(String(vicuna.prefix(60)))) {
      try ChatTemplate(recognizing: vicuna)
    }
  }

  @Test func chatMLWritesTheDefaultSystemFirst() {
    #expect(
      ChatTemplate(defaultSystem: nil).render(user: "Hi")
        == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    #expect(
      ChatTemplate().render(user: "Hi")
        == "<|im_start|>system\n\(ChatTemplate.smolLM2System)<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        + "<|im_start|>assistant\n")
  }

  @Test func llama3TrimsAndOpensTheAssistantHeader() {
    let messages = [
      ChatTemplate.Message(role: "system", content: "Be brief. "), ChatTemplate.Message(role: "user", content: " Hi"),
    ]
    #expect(
      ChatTemplate(format: .llama3, defaultSystem: nil).render(messages)
        == "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
        + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        + "<|start_header_id|>assistant<|end_header_id|>\n\n")
  }

  @Test func gemmaPutsTheSystemMessageInTheFirstUserTurn() {
    let messages = [
      ChatTemplate.Message(role: "system", content: "Be brief."), ChatTemplate.Message(role: "user", content: "Hi"),
      ChatTemplate.Message(role: "assistant", content: "Hello."), ChatTemplate.Message(role: "user", content: "Bye"),
    ]
    let gemma = ChatTemplate(format: .gemma, defaultSystem: nil)
    #expect(
      gemma.render(messages)
        == "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n"
        + "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n")
    #expect(gemma.endOfTurn == "<end_of_turn>")
  }
}
