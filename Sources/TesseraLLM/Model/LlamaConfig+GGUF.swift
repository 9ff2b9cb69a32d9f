extension LlamaConfig {
  /// Reads the `ARCH.*` keys of `file` for its `general.architecture`; the vocabulary size
  /// comes from `token_embd.weight`, Llama 3's RoPE frequency factors from `rope_freqs.weight`.
  public init(gguf file: GGUFFile) throws {
    let architecture = try ModelArchitecture(ggufName: try file.string("general.architecture"))
    let prefix = architecture.rawValue + "."
    func integer(_ name: String) throws -> Int { try file.integer(prefix + name) }
    func optionalInteger(_ name: String) throws -> Int? { try file.optional(prefix + name, file.integer) }
    func optionalDouble(_ name: String) throws -> Double? { try file.optional(prefix + name, file.double) }
    let embedding = try file.info(named: "token_embd.weight")
    guard embedding.dims.count == 2 else {
      throw GGUFError.unexpectedTensor(
        name: embedding.name, expected: "2 dimensions", found: "\(embedding.dims.count)")
    }
    let headCount = try integer("attention.head_count")
    let keyLength = try optionalInteger("attention.key_length")
    if let keyLength, let valueLength = try optionalInteger("attention.value_length"), valueLength != keyLength {
      throw ModelError.unsupportedFeature(
        "\(prefix)attention.value_length \(valueLength) differs from key_length \(keyLength)")
    }
    let embeddingLength = try integer("embedding_length")
    let headDimension = keyLength ?? embeddingLength / Swift.max(headCount, 1)
    if let rotated = try optionalInteger("rope.dimension_count"), rotated != headDimension {
      throw ModelError.unsupportedFeature(
        "RoPE on \(rotated) of \(headDimension) head dimensions (\(prefix)rope.dimension_count)")
    }
    self.init(
      architecture: architecture, blockCount: try integer("block_count"), embeddingLength: embeddingLength,
      feedForwardLength: try integer("feed_forward_length"), headCount: headCount,
      headCountKV: try optionalInteger("attention.head_count_kv") ?? headCount, headDimension: headDimension,
      ropeFreqBase: try optionalDouble("rope.freq_base") ?? 10000,
      ropeFrequencyFactors: try Self.ropeFactors(file, prefix: prefix, pairs: headDimension / 2),
      slidingWindow: architecture.globalLayerPeriod == nil ? nil : try integer("attention.sliding_window"),
      attentionSoftcap: try optionalDouble("attn_logit_softcapping"),
      finalSoftcap: try optionalDouble("final_logit_softcapping"),
      rmsEpsilon: try file.double(prefix + "attention.layer_norm_rms_epsilon"),
      contextLength: try integer("context_length"), vocabularySize: embedding.dims[1])
    try validate()
  }

  /// The RoPE frequency factors: `rope_freqs.weight` (Llama 3; f32, one per pair), or linear
  /// scaling's `rope.scaling.factor` for every pair; `nil` without scaling. Other scaling types
  /// (YaRN…) are ``ModelError/unsupportedFeature(_:)``.
  private static func ropeFactors(_ file: GGUFFile, prefix: String, pairs: Int) throws -> [Double]? {
    if file.hasTensor("rope_freqs.weight") {
      let tensor = try file.tensor(named: "rope_freqs.weight")
      guard tensor.dtype == .f32, tensor.shape.dims == [pairs] else {
        throw GGUFError.unexpectedTensor(name: "rope_freqs.weight", expected: "f32[\(pairs)]", found: "\(tensor.type)")
      }
      return (0..<pairs).map(tensor.element(at:))
    }
    let type = try file.optional(prefix + "rope.scaling.type", file.string) ?? "none"
    switch type {
    case "none": return nil
    case "linear":
      let factor = try file.double(prefix + "rope.scaling.factor")
      return factor == 1 ? nil : Array(repeating: factor, count: pairs)
    default:
      throw ModelError.unsupportedFeature("\(prefix)rope.scaling.type '\(type)' (supported: none, linear, rope_freqs)")
    }
  }
}
