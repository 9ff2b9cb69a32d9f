import TesseraRuntime

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
  /// The weights on each device they were bound to, by the device's store.
  private let bound = Locked<[ObjectIdentifier: ParameterSet]>([:])

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

  /// The weights bound to `device`, uploaded at the first call for that device and shared by
  /// every session of the model there (they are only read).
  public func parameters(on device: any Device) throws(DeviceError) -> ParameterSet {
    try bound.withLock { bound throws(DeviceError) -> ParameterSet in
      let key = ObjectIdentifier(device.store)
      if let known = bound[key] { return known }
      let set = try ParameterSet(uploading: Array(zip(weights.names, weights.tensors)), to: device)
      bound[key] = set
      return set
    }
  }

  /// Parameters in the model (every weight's element count).
  public var parameterCount: Int { weights.tensors.reduce(0) { $0 + $1.shape.count } }
}
