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
  /// The device's prefills (a warm-up, then the timed one) and decode steps.
  public var timings: GenerationTimings
  /// What the device held for the model at the end of its run; `nil` when it failed.
  public var memory: ModelMemory?
  /// Why the device could not run the model, when it could not.
  public var failure: String?

  /// A row; see the properties.
  public init(
    device: String, tokens: [Int], firstDivergence: Int?, maxLogitDelta: [Double], timings: GenerationTimings,
    memory: ModelMemory?, failure: String? = nil
  ) {
    self.device = device
    self.tokens = tokens
    self.firstDivergence = firstDivergence
    self.maxLogitDelta = maxLogitDelta
    self.timings = timings
    self.memory = memory
    self.failure = failure
  }
}

/// The parity of every device with `reference` on one prompt.
public struct ParityResult: Sendable, Hashable {
  /// The prompt's tokens.
  public var promptTokens: [Int]
  /// The reference's greedy text.
  public var referenceText: String
  /// One row per device, `reference` first.
  public var rows: [ParityRow]
  /// The process's peak resident memory after every device ran (`VmHWM`: all of them together,
  /// in one process); `nil` where the system does not say.
  public var peakResidentBytes: Int?

  /// A result; see the properties.
  public init(promptTokens: [Int], referenceText: String, rows: [ParityRow], peakResidentBytes: Int?) {
    self.promptTokens = promptTokens
    self.referenceText = referenceText
    self.rows = rows
    self.peakResidentBytes = peakResidentBytes
  }
}

/// Runs one prompt greedily on every device and compares each with the reference evaluator.
///
/// The reference generates freely; every other device is fed the reference's tokens (teacher
/// forcing), so its logits are compared with the reference's on the same sequence at every step,
/// and its own greedy choice at each step says whether its free-running text would be identical.
/// Each device prefills the prompt twice (a warm-up, then the timed prefill), and its memory is
/// what its store holds at the end of its run, while its session still lives.
public enum ParityRunner {
  /// Runs `steps` greedy steps after `prompt` on `reference` and then on each of `devices`.
  public static func run(
    model: LlamaModel, reference: any Device, devices: [any Device], prompt: [Int], steps: Int,
    progress: (String) -> Void = { _ in }
  ) throws -> ParityResult {
    progress("reference: \(steps) greedy steps")
    let truth = try generate(model, on: reference, prompt: prompt, steps: steps, forced: nil)
    var rows = [row(reference.info.name, truth, truth.result)]
    for device in devices where device !== reference {
      progress("\(device.info.name): \(truth.result.generatedTokens.count) steps fed the reference's tokens")
      do {
        let run = try generate(
          model, on: device, prompt: prompt, steps: truth.result.generatedTokens.count,
          forced: truth.result.generatedTokens)
        rows.append(row(device.info.name, run, truth.result))
      } catch {
        rows.append(
          ParityRow(
            device: device.info.name, tokens: [], firstDivergence: nil, maxLogitDelta: [],
            timings: GenerationTimings(promptTokens: prompt.count), memory: nil, failure: "\(error)"))
      }
    }
    return ParityResult(
      promptTokens: prompt, referenceText: truth.result.text, rows: rows,
      peakResidentBytes: PeakMemory.residentBytes())
  }

  /// One device's generation, and what its store held at the end of it.
  private static func generate(_ model: LlamaModel, on device: any Device, prompt: [Int], steps: Int, forced: [Int]?)
    throws -> (result: GenerationResult, memory: ModelMemory)
  {
    let session = try LlamaSession(model: model, device: device, context: prompt.count + steps)
    var generator = Generator(session: session)
    if forced != nil { generator.stopTokens = [] }
    let result = try generator.generate(
      prompt: prompt, maxTokens: steps, keepLogits: true, forcedTokens: forced, warmup: true)
    return (result, session.memory)
  }

  private static func row(
    _ name: String, _ run: (result: GenerationResult, memory: ModelMemory), _ truth: GenerationResult
  )
    -> ParityRow
  {
    let deltas = zip(run.result.logits, truth.logits).map { mine, theirs in
      zip(mine, theirs).reduce(0.0) { Swift.max($0, Double(Swift.abs($1.0 - $1.1))) }
    }
    let divergence = zip(run.result.generatedTokens, truth.generatedTokens).enumerated().first { $1.0 != $1.1 }?.offset
    return ParityRow(
      device: name, tokens: run.result.generatedTokens, firstDivergence: divergence, maxLogitDelta: deltas,
      timings: run.result.timings, memory: run.memory)
  }
}
