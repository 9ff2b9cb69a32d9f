/// The measured times of one generation, and the speeds derived from them: first-use costs
/// apart, tokens per second over steady-state runs only.
///
/// The first prefill includes compiling the prefill graph and the device's first use of the
/// weights (uploads, the `cpu` device's repacking into tiles, arenas); the first decode step
/// includes compiling the decode graph and its first run. Neither says how fast the device runs
/// the model, so the speeds leave them out and say how many runs they are over.
public struct GenerationTimings: Sendable, Hashable {
  /// Tokens in the prompt each prefill ran over.
  public var promptTokens: Int
  /// Seconds of each prefill over the prompt, in order (a warm-up first when one ran).
  public var prefills: [Double]
  /// Seconds of each decode step, in order.
  public var decodeSteps: [Double]

  /// Timings of `prefills` over `promptTokens` tokens, then `decodeSteps`.
  public init(promptTokens: Int, prefills: [Double] = [], decodeSteps: [Double] = []) {
    self.promptTokens = promptTokens
    self.prefills = prefills
    self.decodeSteps = decodeSteps
  }

  /// Seconds of the first prefill (compile and first use included); `nil` when none ran.
  public var firstPrefillSeconds: Double? { prefills.first }
  /// Seconds of the first decode step (compile and first use included); `nil` when none ran.
  public var firstDecodeStepSeconds: Double? { decodeSteps.first }

  /// Prefills timed in the steady state: every one after the first.
  public var steadyPrefillCount: Int { Swift.max(prefills.count - 1, 0) }
  /// Decode steps timed in the steady state: every one after the first.
  public var steadyDecodeStepCount: Int { Swift.max(decodeSteps.count - 1, 0) }

  /// Prompt tokens per second over the steady-state prefills; `nil` when there are none.
  public var prefillTokensPerSecond: Double? {
    Self.rate(Double(promptTokens * steadyPrefillCount), over: prefills.dropFirst())
  }
  /// Decode steps (tokens) per second over the steady-state steps; `nil` when there are none.
  public var decodeTokensPerSecond: Double? {
    Self.rate(Double(steadyDecodeStepCount), over: decodeSteps.dropFirst())
  }

  private static func rate(_ count: Double, over seconds: ArraySlice<Double>) -> Double? {
    guard !seconds.isEmpty else { return nil }
    return count / Swift.max(seconds.reduce(0, +), 1e-9)
  }
}
