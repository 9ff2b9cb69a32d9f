import Foundation
import Tessera

/// `tessera generate`: text from a Llama GGUF model on one device, streamed as it comes.
enum GenerateCommand: Command {
  static let spec = CommandSpec(
    name: "generate", summary: "Generate text with a Llama GGUF model (default: SmolLM2-135M-Instruct) on a device.",
    positionals: [],
    options: [
      ModelOption.spec,
      OptionSpec(name: "--prompt", valueName: "TEXT", help: "The prompt (required)."),
      OptionSpec(
        name: "--device", valueName: "D",
        help: "reference, kir, cpu, opencl[:N], vulkan[:N], npu (default: cpu, the fastest usable device)."
      ),
      DeviceSelection.fallbackOption,
      OptionSpec(name: "--max-tokens", valueName: "N", help: "Stop after N generated tokens (default 32)."),
      OptionSpec(name: "--greedy", help: "Always take the most likely token (default unless --temperature is given)."),
      OptionSpec(name: "--temperature", valueName: "T", help: "Sample with temperature T (with top-k 40, top-p 0.95)."),
      OptionSpec(name: "--top-k", valueName: "K", help: "Keep the K most likely tokens when sampling (0: all)."),
      OptionSpec(name: "--top-p", valueName: "P", help: "Keep the most likely tokens up to probability P."),
      OptionSpec(
        name: "--repeat-penalty", valueName: "R", help: "Penalise tokens already in the sequence (default 1: off)."),
      OptionSpec(name: "--seed", valueName: "S", help: "Seed of the sampler (default 0)."),
      OptionSpec(
        name: "--chat",
        help: "Wrap the prompt in the model's chat format (ChatML, Llama 3 or Gemma, from the file's template)."),
      OptionSpec(name: "--format", valueName: "text|json", help: "Stream text (default), or print one JSON object."),
      OptionSpec(name: "--profile", help: "Then time one more decode step kernel by kernel and print the slowest."),
      OptionSpec(
        name: "--warmup",
        help: "Prefill the prompt once more first, so prefill tok/s is measured in the steady state."),
      Observation.deterministicOption, Observation.traceOption,
    ],
    examples: [
      "tessera generate --prompt 'The capital of France is' --max-tokens 16",
      "tessera generate --chat --prompt 'What is 2+2?' --format json",
      "tessera generate --device cpu --prompt 'Hello' --max-tokens 4 --profile",
      "tessera generate --prompt 'The capital of France is' --device vulkan --fallback cpu",
    ])

  static func run(_ arguments: ParsedArguments) throws {
    guard let prompt = arguments.value("--prompt") else { throw UsageError(description: "--prompt TEXT is required") }
    let format = arguments.value("--format") ?? "text"
    guard format == "text" || format == "json" else {
      throw UsageError(description: "--format expects text or json, found '\(format)'")
    }
    let maxTokens = try arguments.integer("--max-tokens") ?? 32
    guard maxTokens > 0 else { throw UsageError(description: "--max-tokens expects a positive integer") }
    let sampling = try samplingOptions(arguments)
    let profiling = arguments.flags.contains("--profile")
    if profiling && arguments.value("--fallback") != nil {
      throw UsageError(description: "--profile times one device; it cannot be combined with --fallback")
    }
    let model = try ModelOption.load(arguments)
    let device = try DeviceSelection.devices(
      arguments.value("--device") ?? "cpu", fallback: arguments.value("--fallback"),
      in: DeviceSelection.registry())[0]
    let chat = arguments.flags.contains("--chat") ? try model.file.chatTemplate() : nil
    let tokens = try model.tokenizer.encode(chat?.render(user: prompt) ?? prompt)
    let context = min(tokens.count + maxTokens + (profiling ? 1 : 0), model.config.contextLength)
    var generator = Generator(session: try LlamaSession(model: model, device: device, context: context))
    if let chat, let endOfTurn = model.tokenizer.vocabulary.tokens.firstIndex(of: chat.endOfTurn) {
      generator.stopTokens.insert(endOfTurn)
    }
    if format == "text" { write(arguments.flags.contains("--chat") ? prompt + "\n" : prompt) }
    let result = try generator.generate(
      prompt: tokens, maxTokens: maxTokens, sampling: sampling, warmup: arguments.flags.contains("--warmup")
    ) { piece in
      guard format == "text" else { return }
      write(piece)
    }
    let memory = generator.session.memory
    if format == "text" { write("\n") }
    if profiling, let last = result.generatedTokens.last {
      let profile = try generator.session.profileDecode(last, greedy: sampling.isPlainGreedy)
      printDecodeProfile(device.info.name, profile.kernels)
      printError(
        "  moved per decode step: \(profile.traffic.toDevice) bytes to \(device.info.name), \(profile.traffic.toHost) bytes back"
      )
    }
    let timings = result.timings
    if format == "text" {
      func speed(_ value: Double?, _ count: Int, _ unit: String) -> String {
        value.map { String(format: "%.2f tok/s over %d %@%@", $0, count, unit, count == 1 ? "" : "s") }
          ?? "not timed (no \(unit) after the first)"
      }
      printError(
        "\(DeviceSelection.name(device)): \(tokens.count) prompt tokens, \(result.generatedTokens.count) generated; "
          + "first use (compile included): prefill \(ParityReport.seconds(timings.firstPrefillSeconds)), "
          + "decode step \(ParityReport.seconds(timings.firstDecodeStepSeconds)); steady state: prefill "
          + (timings.steadyPrefillCount == 0
            ? "not timed (--warmup times one)"
            : speed(timings.prefillTokensPerSecond, timings.steadyPrefillCount, "run"))
          + ", decode " + speed(timings.decodeTokensPerSecond, timings.steadyDecodeStepCount, "step")
          + "; on the device: weights \(ParityReport.memory(memory.weights)), KV cache "
          + "\(ParityReport.memory(memory.cache)), total \(ParityReport.memory(memory.total)); "
          + "process peak RSS \(ParityReport.memory(PeakMemory.residentBytes()))")
      return
    }
    func number(_ value: Double?) -> Any { value ?? NSNull() }
    let object: [String: Any] = [
      "device": DeviceSelection.name(device), "prompt_tokens": tokens, "generated_tokens": result.generatedTokens,
      "text": result.text, "first_prefill_seconds": number(timings.firstPrefillSeconds),
      "first_decode_step_seconds": number(timings.firstDecodeStepSeconds),
      "prefill_tokens_per_second": number(timings.prefillTokensPerSecond),
      "prefill_runs_timed": timings.steadyPrefillCount,
      "decode_tokens_per_second": number(timings.decodeTokensPerSecond),
      "decode_steps_timed": timings.steadyDecodeStepCount,
      "device_bytes": [
        "weights": memory.weights, "weights_read_in_place": memory.weightsReadInPlace, "kv_cache": memory.cache,
        "total": memory.total,
      ],
      "peak_rss_bytes": PeakMemory.residentBytes() ?? 0,
    ]
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
  }

  /// The decode step's total, its time per kind of step, and its slowest steps (to standard error).
  private static func printDecodeProfile(_ device: String, _ kernels: [KernelTiming]?) {
    guard let kernels else { return printError("profile on \(device): this device does not time kernels") }
    let total = kernels.map(\.seconds).reduce(0, +)
    printError(
      String(format: "profile of one decode step on %@: %d steps, %.3f ms", device, kernels.count, total * 1e3))
    var byKind: [String: Double] = [:]
    for timing in kernels { byKind[kind(of: timing.kernel), default: 0] += timing.seconds }
    for (kind, seconds) in byKind.sorted(by: { $0.value > $1.value }).prefix(12) {
      let label = kind.padding(toLength: max(kind.count, 40), withPad: " ", startingAt: 0)
      printError(String(format: "  %@ %9.3f ms  %5.1f%%", label, seconds * 1e3, 100 * seconds / max(total, 1e-12)))
    }
    printError("  slowest:")
    for timing in kernels.sorted(by: { $0.seconds > $1.seconds }).prefix(15) {
      printError(String(format: "  %9.3f ms  %@", timing.seconds * 1e3, timing.kernel))
    }
  }

  /// A step's name without its result (`→ %name`) and without a kernel's numbering (`k12_`), which
  /// devices print either alone (`k12_matmul`) or after the word `kernel`.
  private static func kind(of step: String) -> String {
    let kind = String(step.prefix { $0 != "→" }).trimmingCharacters(in: .whitespaces)
    let prefix = kind.hasPrefix("kernel ") ? "kernel " : ""
    let name = kind.dropFirst(prefix.count)
    guard name.first == "k", let underscore = name.firstIndex(of: "_"),
      name[name.index(after: name.startIndex)..<underscore].allSatisfy(\.isNumber)
    else { return kind }
    return prefix + name[name.index(after: underscore)...]
  }

  /// Writes to standard output at once (streamed text must not wait in a buffer).
  private static func write(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }

  private static func samplingOptions(_ arguments: ParsedArguments) throws -> SamplingOptions {
    func number(_ name: String) throws -> Double? {
      guard let text = arguments.value(name) else { return nil }
      guard let value = Double(text) else { throw UsageError(description: "\(name) expects a number, found '\(text)'") }
      return value
    }
    var options = SamplingOptions()
    if let temperature = try number("--temperature") {
      guard temperature > 0 else { throw UsageError(description: "--temperature must be > 0") }
      options.greedy = arguments.flags.contains("--greedy")
      options.temperature = temperature
    }
    options.topK = try arguments.integer("--top-k") ?? options.topK
    options.topP = try number("--top-p") ?? options.topP
    options.repetitionPenalty = try number("--repeat-penalty") ?? options.repetitionPenalty
    options.seed = UInt64(try arguments.integer("--seed") ?? 0)
    return options
  }
}
