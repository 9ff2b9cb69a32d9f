/// Why a model could not be loaded or run.
public enum ModelError: Error, Hashable, Sendable, CustomStringConvertible {
  /// `general.architecture` names a model family this builder does not know.
  case unsupportedArchitecture(String)
  /// The hyper-parameters contradict each other; `detail` says how.
  case invalidHyperparameters(String)
  /// The file's tensors are not the ones `architecture` is made of; `detail` names the tensor.
  case unsupportedTensorLayout(architecture: String, detail: String)
  /// The file asks for something the builder does not implement; the text names it.
  case unsupportedFeature(String)
  /// A prompt with no tokens was given.
  case emptyPrompt
  /// The tokens do not fit in the session's context.
  case contextFull(tokens: Int, context: Int)
  /// A token id outside the vocabulary.
  case tokenOutOfRange(Int, vocabularySize: Int)

  /// A message a person can act on.
  public var description: String {
    switch self {
    case .unsupportedArchitecture(let name):
      "model architecture '\(name)' is not supported (supported: \(ModelArchitecture.supportedNames))"
    case .invalidHyperparameters(let detail): "invalid model hyper-parameters: \(detail)"
    case .unsupportedTensorLayout(let architecture, let detail):
      "unsupported tensor layout for the \(architecture) architecture: \(detail)"
    case .unsupportedFeature(let what): "\(what) is not supported"
    case .emptyPrompt: "the prompt has no tokens"
    case .contextFull(let tokens, let context):
      "\(tokens) tokens do not fit in the context of \(context) tokens (use a larger context)"
    case .tokenOutOfRange(let id, let size): "token id \(id) is outside the vocabulary of \(size) tokens"
    }
  }
}
