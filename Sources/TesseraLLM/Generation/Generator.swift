import Foundation

/// What one generation produced, and how fast.
public struct GenerationResult: Sendable, Hashable {
  /// The prompt's token ids.
  public var promptTokens: [Int]
  /// The generated token ids (the stop token included when one ended the run).
  public var generatedTokens: [Int]
  /// The generated text (special tokens left out).
  public var text: String
  /// How long each prefill and decode step took, and the speeds in the steady state.
  public var timings: GenerationTimings
  /// Logits that chose each generated token (kept only when asked for).
  public var logits: [[Float]]
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
  /// comparing devices step by step); the sampled choices are still returned. With `warmup`, the
  /// prompt is prefilled twice and generation goes on from the second prefill, which is then
  /// timed in the steady state (``GenerationTimings/prefillTokensPerSecond``).
  public func generate(
    prompt: [Int], maxTokens: Int, sampling: SamplingOptions = SamplingOptions(), keepLogits: Bool = false,
    forcedTokens: [Int]? = nil, warmup: Bool = false, onText: (String) -> Void = { _ in }
  ) throws -> GenerationResult {
    var sampler = Sampler(options: sampling)
    var stream = StreamingDecoder(tokenizer: session.model.tokenizer, after: prompt.last)
    var result = GenerationResult(
      promptTokens: prompt, generatedTokens: [], text: "", timings: GenerationTimings(promptTokens: prompt.count),
      logits: [])
    // Plain greedy decoding chooses each token on the device, which then sends back only it.
    let onDevice = sampling.isPlainGreedy && !keepLogits && forcedTokens == nil
    var logits: [Float] = []
    for _ in 0..<(warmup ? 2 : 1) {
      logits = try Self.timed(&result.timings.prefills) { try session.prefill(prompt) }
    }
    var chosen: Int?
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
        chosen = try Self.timed(&result.timings.decodeSteps) { try session.decodeGreedy(fed) }
      } else {
        logits = try Self.timed(&result.timings.decodeSteps) { try session.decode(fed) }
      }
    }
    let rest = stream.finish()
    result.text += rest
    onText(rest)
    return result
  }

  /// Runs `body`, appending the seconds it took to `seconds`.
  private static func timed<Value>(_ seconds: inout [Double], _ body: () throws -> Value) rethrows -> Value {
    let start = DispatchTime.now().uptimeNanoseconds
    let value = try body()
    seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    return value
  }
}
