import Foundation

/// What one generation produced, and how fast.
public struct GenerationResult: Sendable, Hashable {
  /// The prompt's token ids.
  public var promptTokens: [Int]
  /// The generated token ids (the stop token included when one ended the run).
  public var generatedTokens: [Int]
  /// The generated text (special tokens left out).
  public var text: String
  /// Seconds spent in the prefill (compilation included).
  public var prefillSeconds: Double
  /// Seconds spent in decode steps (the decode graph's compilation included).
  public var decodeSeconds: Double
  /// Logits that chose each generated token (kept only when asked for).
  public var logits: [[Float]]

  /// Prompt tokens per second of prefill.
  public var prefillTokensPerSecond: Double { Double(promptTokens.count) / Swift.max(prefillSeconds, 1e-9) }
  /// Decode steps per second (the first generated token comes from the prefill).
  public var decodeTokensPerSecond: Double {
    Double(Swift.max(generatedTokens.count - 1, 0)) / Swift.max(decodeSeconds, 1e-9)
  }
}

/// Generates text with a ``LlamaSession``: prefill, then sample and decode until a stop token
/// or the token limit, streaming each piece of text as it is complete.
public struct Generator {
  /// The session that runs the model.
  public let session: LlamaSession
  /// Tokens that end generation (the tokenizer's eos by default).
  public var stopTokens: Set<Int>

  /// Creates a generator; generation stops at the tokenizer's eos token.
  public init(session: LlamaSession) {
    self.session = session
    stopTokens = Set([session.model.tokenizer.eosID].compactMap { $0 })
  }

  /// Generates up to `maxTokens` tokens after `prompt`; `onText` receives the text as it streams.
  /// With `forcedTokens`, those tokens are fed instead of the sampled ones (teacher forcing, for
  /// comparing devices step by step); the sampled choices are still returned.
  public func generate(
    prompt: [Int], maxTokens: Int, sampling: SamplingOptions = SamplingOptions(), keepLogits: Bool = false,
    forcedTokens: [Int]? = nil, onText: (String) -> Void = { _ in }
  ) throws -> GenerationResult {
    var sampler = Sampler(options: sampling)
    var stream = StreamingDecoder(tokenizer: session.model.tokenizer, after: prompt.last)
    var result = GenerationResult(
      promptTokens: prompt, generatedTokens: [], text: "", prefillSeconds: 0, decodeSeconds: 0, logits: [])
    // Plain greedy decoding chooses each token on the device, which then sends back only it.
    let onDevice = sampling.isPlainGreedy && !keepLogits && forcedTokens == nil
    var start = Date()
    var logits = try session.prefill(prompt)
    var chosen: Int?
    result.prefillSeconds = Date().timeIntervalSince(start)
    start = Date()
    for step in 0..<maxTokens {
      if keepLogits { result.logits.append(logits) }
      let token = chosen ?? sampler.next(logits: logits, history: prompt + result.generatedTokens)
      result.generatedTokens.append(token)
      let piece = try stream.push(token)
      result.text += piece
      onText(piece)
      let fed = forcedTokens.flatMap { step < $0.count ? $0[step] : nil } ?? token
      if (forcedTokens == nil && stopTokens.contains(token)) || step + 1 == maxTokens
        || session.position == session.context
      {
        break
      }
      if onDevice {
        chosen = try session.decodeGreedy(fed)
      } else {
        logits = try session.decode(fed)
      }
    }
    result.decodeSeconds = Date().timeIntervalSince(start)
    let rest = stream.finish()
    result.text += rest
    onText(rest)
    return result
  }
}
