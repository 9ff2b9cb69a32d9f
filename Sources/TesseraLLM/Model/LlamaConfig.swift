/// The hyper-parameters of a Llama-family model, read from GGUF's `llama.*` keys.
public struct LlamaConfig: Sendable, Hashable {
  /// Transformer blocks (`llama.block_count`).
  public var blockCount: Int
  /// Hidden size (`llama.embedding_length`).
  public var embeddingLength: Int
  /// FFN inner size (`llama.feed_forward_length`).
  public var feedForwardLength: Int
  /// Query heads (`llama.attention.head_count`).
  public var headCount: Int
  /// Key/value heads (`llama.attention.head_count_kv`; fewer than query heads for GQA).
  public var headCountKV: Int
  /// RoPE base (`llama.rope.freq_base`, 10000 when absent).
  public var ropeFreqBase: Double
  /// RMS norm epsilon (`llama.attention.layer_norm_rms_epsilon`).
  public var rmsEpsilon: Double
  /// Training context (`llama.context_length`).
  public var contextLength: Int
  /// Tokens in the vocabulary (rows of `token_embd.weight`).
  public var vocabularySize: Int

  /// Creates a configuration; ``validate()`` checks it.
  public init(
    blockCount: Int, embeddingLength: Int, feedForwardLength: Int, headCount: Int, headCountKV: Int,
    ropeFreqBase: Double, rmsEpsilon: Double, contextLength: Int, vocabularySize: Int
  ) {
    self.blockCount = blockCount
    self.embeddingLength = embeddingLength
    self.feedForwardLength = feedForwardLength
    self.headCount = headCount
    self.headCountKV = headCountKV
    self.ropeFreqBase = ropeFreqBase
    self.rmsEpsilon = rmsEpsilon
    self.contextLength = contextLength
    self.vocabularySize = vocabularySize
  }

  /// Width of one attention head.
  public var headDimension: Int { embeddingLength / headCount }
  /// Width of the keys (and values) of one position: `headCountKV * headDimension`.
  public var kvWidth: Int { headCountKV * headDimension }

  /// Throws unless every size is positive, heads divide the hidden size, query heads are a
  /// multiple of key/value heads and the head width is even (RoPE rotates pairs).
  public func validate() throws(ModelError) {
    let sizes = [blockCount, embeddingLength, feedForwardLength, headCount, headCountKV, contextLength, vocabularySize]
    guard sizes.allSatisfy({ $0 > 0 }) else { throw .invalidHyperparameters("every size must be positive: \(self)") }
    guard embeddingLength % headCount == 0, headDimension % 2 == 0 else {
      throw .invalidHyperparameters("\(headCount) heads must split \(embeddingLength) into even head widths")
    }
    guard headCount % headCountKV == 0 else {
      throw .invalidHyperparameters("\(headCount) query heads are not a multiple of \(headCountKV) key/value heads")
    }
  }
}

extension LlamaConfig {
  /// Reads the `llama.*` keys of `file`; the vocabulary size comes from `token_embd.weight`.
  public init(gguf file: GGUFFile) throws {
    let architecture = try file.string("general.architecture")
    guard architecture == "llama" else { throw ModelError.unsupportedArchitecture(architecture) }
    func key(_ name: String) -> String { "llama." + name }
    let embedding = try file.info(named: "token_embd.weight")
    guard embedding.dims.count == 2 else {
      throw GGUFError.unexpectedTensor(
        name: embedding.name, expected: "2 dimensions", found: "\(embedding.dims.count)")
    }
    self.init(
      blockCount: try file.integer(key("block_count")), embeddingLength: try file.integer(key("embedding_length")),
      feedForwardLength: try file.integer(key("feed_forward_length")),
      headCount: try file.integer(key("attention.head_count")),
      headCountKV: file.metadata[key("attention.head_count_kv")] == nil
        ? try file.integer(key("attention.head_count")) : try file.integer(key("attention.head_count_kv")),
      ropeFreqBase: file.metadata[key("rope.freq_base")] == nil ? 10000 : try file.double(key("rope.freq_base")),
      rmsEpsilon: try file.double(key("attention.layer_norm_rms_epsilon")),
      contextLength: try file.integer(key("context_length")), vocabularySize: embedding.dims[1])
    try validate()
  }
}
