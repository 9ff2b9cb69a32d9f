/// Why a tokenizer could not be built or could not encode or decode.
public enum TokenizerError: Error, Hashable, Sendable, CustomStringConvertible {
  /// `tokenizer.ggml.model` names a vocabulary kind this tokenizer does not implement.
  case unsupportedModel(String)
  /// `tokenizer.ggml.pre` names a pre-tokenizer (text-splitting pattern) that is not implemented.
  case unsupportedPreTokenizer(String)
  /// `tokenizer.chat_template` is none of the formats ``ChatTemplate`` recognises; the text is
  /// its start.
  case unknownChatTemplate(String)
  /// The file has no `tokenizer.chat_template` to take the chat format from.
  case noChatTemplate
  /// A tokenizer of one kind was built from a file that names another kind.
  case modelMismatch(expected: String, found: String)
  /// The vocabulary is inconsistent: `detail` says how (e.g. token types of another length).
  case invalidVocabulary(String)
  /// A merge rule is not two pieces separated by one space.
  case invalidMerge(index: Int, text: String)
  /// A special token id (bos, eos, unknown) is outside the vocabulary.
  case specialTokenOutOfRange(name: String, id: Int, vocabularySize: Int)
  /// The tokenizer produced a piece the vocabulary lacks (as a token, or as byte tokens), and
  /// there is no unknown token to use instead.
  case unknownPiece(String)
  /// A token id outside the vocabulary was given to decode.
  case invalidTokenID(Int, vocabularySize: Int)

  /// A message a person can act on.
  public var description: String {
    switch self {
    case .unsupportedModel(let model):
      "tokenizer model '\(model)' is not supported (supported: gpt2 byte-level BPE, llama SentencePiece)"
    case .unsupportedPreTokenizer(let name):
      "pre-tokenizer '\(name)' (tokenizer.ggml.pre) is not supported (supported: \(PreTokenizer.supportedNames))"
    case .unknownChatTemplate(let start):
      "the chat template is not one tessera recognises (ChatML, Llama 3, Gemma); it starts '\(start)'"
    case .noChatTemplate: "the model file has no chat template (tokenizer.chat_template) to format a chat with"
    case .modelMismatch(let expected, let found):
      "this tokenizer reads '\(expected)' vocabularies, the file's tokenizer.ggml.model is '\(found)'"
    case .invalidVocabulary(let detail): "invalid tokenizer vocabulary: \(detail)"
    case .invalidMerge(let index, let text): "merge rule \(index) '\(text)' is not two pieces separated by a space"
    case .specialTokenOutOfRange(let name, let id, let size):
      "the \(name) token id \(id) is outside the vocabulary of \(size) tokens"
    case .unknownPiece(let piece): "the vocabulary has no token for '\(piece)' and no unknown token"
    case .invalidTokenID(let id, let size): "token id \(id) is outside the vocabulary of \(size) tokens"
    }
  }
}
