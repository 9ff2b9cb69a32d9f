import TesseraRuntime

/// One device's line of the parity report.
public struct ParityRow: Sendable, Hashable {
  /// The device name.
  public var device: String
  /// The tokens this device would choose greedily at each step, fed the reference's tokens.
  public var tokens: [Int]
  /// The first step where its choice differs from the reference's; `nil` when all agree.
  public var firstDivergence: Int?
  /// Per step, the largest |logit - reference logit| over the vocabulary.
  public var maxLogitDelta: [Double]
  /// Prompt tokens per second.
  public var prefillTokensPerSecond: Double
  /// Decode steps per second.
  public var decodeTokensPerSecond: Double
  /// The process's peak resident memory after this device ran (`VmHWM`, so it never falls).
  public var peakResidentBytes: Int?
  /// Why the device could not run the model, when it could not.
  public var failure: String?
}

/// The parity of every device with `reference` on one prompt.
public struct ParityResult: Sendable, Hashable {
  /// The prompt's tokens.
  public var promptTokens: [Int]
  /// The reference's greedy text.
  public var referenceText: String
  /// One row per device, `reference` first.
  public var rows: [ParityRow]
}

/// Runs one prompt greedily on every device and compares each with the reference evaluator.
///
/// The reference generates freely; every other device is fed the reference's tokens (teacher
/// forcing), so its logits are compared with the reference's on the same sequence at every step,
/// and its own greedy choice at each step says whether its free-running text would be identical.
public enum ParityRunner {
  /// Runs `steps` greedy steps after `prompt` on `reference` and then on each of `devices`.
  public static func run(
    model: LlamaModel, reference: any Device, devices: [any Device], prompt: [Int], steps: Int,
    progress: (String) -> Void = { _ in }
  ) throws -> ParityResult {
    progress("reference: \(steps) greedy steps")
    let truth = try generate(model, on: reference, prompt: prompt, steps: steps, forced: nil)
    var rows = [row(reference.info.name, truth, truth)]
    for device in devices where device !== reference {
      progress("\(device.info.name): \(truth.generatedTokens.count) steps fed the reference's tokens")
      do {
        let result = try generate(
          model, on: device, prompt: prompt, steps: truth.generatedTokens.count, forced: truth.generatedTokens)
        rows.append(row(device.info.name, result, truth))
      } catch {
        rows.append(
          ParityRow(
            device: device.info.name, tokens: [], firstDivergence: nil, maxLogitDelta: [], prefillTokensPerSecond: 0,
            decodeTokensPerSecond: 0, peakResidentBytes: PeakMemory.residentBytes(), failure: "\(error)"))
      }
    }
    return ParityResult(promptTokens: prompt, referenceText: truth.text, rows: rows)
  }

  private static func generate(_ model: LlamaModel, on device: any Device, prompt: [Int], steps: Int, forced: [Int]?)
    throws -> GenerationResult
  {
    let session = try LlamaSession(model: model, device: device, context: prompt.count + steps)
    var generator = Generator(session: session)
    if forced != nil { generator.stopTokens = [] }
    return try generator.generate(prompt: prompt, maxTokens: steps, keepLogits: true, forcedTokens: forced)
  }

  private static func row(_ name: String, _ result: GenerationResult, _ truth: GenerationResult) -> ParityRow {
    let deltas = zip(result.logits, truth.logits).map { mine, theirs in
      zip(mine, theirs).reduce(0.0) { Swift.max($0, Double(Swift.abs($1.0 - $1.1))) }
    }
    let divergence = zip(result.generatedTokens, truth.generatedTokens).enumerated().first { $1.0 != $1.1 }?.offset
    return ParityRow(
      device: name, tokens: result.generatedTokens, firstDivergence: divergence, maxLogitDelta: deltas,
      prefillTokensPerSecond: result.prefillTokensPerSecond, decodeTokensPerSecond: result.decodeTokensPerSecond,
      peakResidentBytes: PeakMemory.residentBytes(), failure: nil)
  }
}
