/// The hyper-parameters of a Llama-family model, read from GGUF's `ARCH.*` keys (ARCH being
/// `general.architecture`: `llama`, `qwen2`, `qwen3` or `gemma3`).
public struct LlamaConfig: Sendable, Hashable {
  /// The model family, which decides the per-architecture pieces of the block.
  public var architecture: ModelArchitecture
  /// Transformer blocks (`block_count`).
  public var blockCount: Int
  /// Hidden size (`embedding_length`).
  public var embeddingLength: Int
  /// FFN inner size (`feed_forward_length`).
  public var feedForwardLength: Int
  /// Query heads (`attention.head_count`).
  public var headCount: Int
  /// Key/value heads (`attention.head_count_kv`; fewer than query heads for GQA).
  public var headCountKV: Int
  /// Width of one attention head (`attention.key_length`; the hidden size over the heads when
  /// absent). Qwen 3 and Gemma 3 heads are wider than that.
  public var headDimension: Int
  /// RoPE base of the global layers (`rope.freq_base`, 10000 when absent).
  public var ropeFreqBase: Double
  /// What each RoPE frequency of the global layers is divided by, one per rotated pair
  /// (Llama 3's `rope_freqs` tensor, or linear scaling's factor repeated); `nil` for none.
  public var ropeFrequencyFactors: [Double]?
  /// Keys a sliding-window layer sees: the query's own position and the `window - 1` before it
  /// (`attention.sliding_window`); `nil` when every layer attends to the whole context.
  public var slidingWindow: Int?
  /// Attention scores become `cap · tanh(score / cap)` (`attn_logit_softcapping`); `nil`: none.
  public var attentionSoftcap: Double?
  /// The logits become `cap · tanh(logit / cap)` (`final_logit_softcapping`); `nil`: none.
  public var finalSoftcap: Double?
  /// RMS norm epsilon (`attention.layer_norm_rms_epsilon`).
  public var rmsEpsilon: Double
  /// Training context (`context_length`).
  public var contextLength: Int
  /// Tokens in the vocabulary (rows of `token_embd.weight`).
  public var vocabularySize: Int

  /// Creates a configuration; ``validate()`` checks it. `headDimension` defaults to
  /// `embeddingLength / headCount`.
  public init(
    architecture: ModelArchitecture = .llama, blockCount: Int, embeddingLength: Int, feedForwardLength: Int,
    headCount: Int, headCountKV: Int, headDimension: Int? = nil, ropeFreqBase: Double,
    ropeFrequencyFactors: [Double]? = nil, slidingWindow: Int? = nil, attentionSoftcap: Double? = nil,
    finalSoftcap: Double? = nil, rmsEpsilon: Double, contextLength: Int, vocabularySize: Int
  ) {
    self.architecture = architecture
    self.blockCount = blockCount
    self.embeddingLength = embeddingLength
    self.feedForwardLength = feedForwardLength
    self.headCount = headCount
    self.headCountKV = headCountKV
    self.headDimension = headDimension ?? (headCount > 0 ? embeddingLength / headCount : 0)
    self.ropeFreqBase = ropeFreqBase
    self.ropeFrequencyFactors = ropeFrequencyFactors
    self.slidingWindow = slidingWindow
    self.attentionSoftcap = attentionSoftcap
    self.finalSoftcap = finalSoftcap
    self.rmsEpsilon = rmsEpsilon
    self.contextLength = contextLength
    self.vocabularySize = vocabularySize
  }

  /// Width of the queries of one position: `headCount * headDimension`.
  public var queryWidth: Int { headCount * headDimension }
  /// Width of the keys (and values) of one position: `headCountKV * headDimension`.
  public var kvWidth: Int { headCountKV * headDimension }

  /// Whether `layer` attends within the sliding window only (Gemma 3: all but every sixth).
  public func isSlidingWindowLayer(_ layer: Int) -> Bool {
    guard slidingWindow != nil, let period = architecture.globalLayerPeriod else { return false }
    return (layer + 1) % period != 0
  }

  /// The RoPE base of `layer`: the local base on sliding-window layers, ``ropeFreqBase`` else.
  public func ropeBase(layer: Int) -> Double {
    isSlidingWindowLayer(layer) ? architecture.localRopeBase : ropeFreqBase
  }

  /// The frequency factors of `layer`: ``ropeFrequencyFactors`` on global layers only.
  public func ropeFactors(layer: Int) -> [Double]? { isSlidingWindowLayer(layer) ? nil : ropeFrequencyFactors }

  /// Throws unless every size is positive, query heads are a multiple of key/value heads, the
  /// head width is even (RoPE rotates pairs), there is one frequency factor per pair, and the
  /// window and soft caps are positive.
  public func validate() throws(ModelError) {
    let sizes = [
      blockCount, embeddingLength, feedForwardLength, headCount, headCountKV, headDimension, contextLength,
      vocabularySize,
    ]
    guard sizes.allSatisfy({ $0 > 0 }) else { throw .invalidHyperparameters("every size must be positive: \(self)") }
    guard headDimension % 2 == 0 else {
      throw .invalidHyperparameters("the head width \(headDimension) must be even (RoPE rotates pairs)")
    }
    guard headCount % headCountKV == 0 else {
      throw .invalidHyperparameters("\(headCount) query heads are not a multiple of \(headCountKV) key/value heads")
    }
    if let factors = ropeFrequencyFactors {
      guard factors.count == headDimension / 2, factors.allSatisfy({ $0 > 0 && $0.isFinite }) else {
        throw .invalidHyperparameters(
          "RoPE needs \(headDimension / 2) positive frequency factors, found \(factors.count)")
      }
    }
    for (name, value) in [
      ("sliding window", slidingWindow.map(Double.init)), ("attention soft cap", attentionSoftcap),
      ("final soft cap", finalSoftcap),
    ] {
      if let value, !(value > 0 && value.isFinite) {
        throw .invalidHyperparameters("the \(name) must be positive, found \(value)")
      }
    }
  }
}
