/// How the next token is chosen from the logits.
public struct SamplingOptions: Sendable, Hashable {
  /// Always the most likely token (the first one on ties); the other settings are ignored,
  /// except the repetition penalty.
  public var greedy: Bool
  /// Logits are divided by this before the softmax (must be > 0 when not greedy).
  public var temperature: Double
  /// Keep only the `topK` most likely tokens; 0 keeps all.
  public var topK: Int
  /// Keep the smallest set of most likely tokens whose probabilities sum to at least `topP`.
  public var topP: Double
  /// Logits of tokens already in the sequence are divided (if positive) or multiplied (if
  /// negative) by this; 1 disables it.
  public var repetitionPenalty: Double
  /// Seed of the random choice.
  public var seed: UInt64

  /// Whether the choice needs nothing but the logits' first maximum, so a device can make it
  /// (greedy without a repetition penalty).
  public var isPlainGreedy: Bool { greedy && repetitionPenalty == 1 }

  /// Creates options; the defaults are greedy decoding.
  public init(
    greedy: Bool = true, temperature: Double = 0.8, topK: Int = 40, topP: Double = 0.95,
    repetitionPenalty: Double = 1, seed: UInt64 = 0
  ) {
    self.greedy = greedy
    self.temperature = temperature
    self.topK = topK
    self.topP = topP
    self.repetitionPenalty = repetitionPenalty
    self.seed = seed
  }
}
