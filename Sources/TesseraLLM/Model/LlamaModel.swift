/// A Llama-family model loaded from GGUF: hyper-parameters, weights and tokenizer.
public final class LlamaModel: Sendable {
  /// The file it came from (kept mapped).
  public let file: GGUFFile
  /// The hyper-parameters.
  public let config: LlamaConfig
  /// The weights in graph-argument order.
  public let weights: LlamaWeights
  /// The tokenizer the file's metadata describes (byte-level BPE or SentencePiece).
  public let tokenizer: any Tokenizer

  /// Loads the model at `path`.
  public convenience init(path: String) throws { try self.init(file: try GGUFFile(path: path)) }

  /// Loads the model from an opened file.
  public init(file: GGUFFile) throws {
    self.file = file
    config = try LlamaConfig(gguf: file)
    weights = try LlamaWeights(gguf: file, config: config)
    tokenizer = try file.tokenizer()
    guard tokenizer.vocabularySize == config.vocabularySize else {
      throw ModelError.invalidHyperparameters(
        "the tokenizer has \(tokenizer.vocabularySize) tokens, the embedding \(config.vocabularySize) rows")
    }
  }

  /// Parameters in the model (every weight's element count).
  public var parameterCount: Int { weights.tensors.reduce(0) { $0 + $1.shape.count } }
}
