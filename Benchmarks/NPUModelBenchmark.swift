import Foundation
import Tessera

/// `tessera-bench npu --model`: what the NPU would do on a GGUF model — the cycle model's counts
/// for one prefill and for decode steps (cycles per token, tok/s at the configured clock, each
/// unit's busy share, global-memory bytes per token against the link's bandwidth), with the
/// emulator's own wall time beside them. Weight preparation (each weight's
/// `transpose(dequantize(W))`, run once per device and kept) is counted apart. Decode runs on
/// linked programs (one per segment, the device's default) and, as the peer in the same run, on
/// one program per step.
enum NPUModelBenchmark {
  static func run(modelPath: String, prefill: Int, decode: Int) throws {
    let model = try LlamaModel(path: modelPath)
    let config = NPUConfig()
    let device = NPUDevice(
      config: config,
      options: CompileOptions(passes: PassPipeline.standard(evaluator: ReferenceConstantEvaluator()), fallback: "cpu"),
      host: CPUKernelRunner(), recordsCycles: true)
    var random = SeededRandom(seed: 7)
    let prompt = (0..<prefill).map { _ in Int.random(in: 0..<model.config.vocabularySize, using: &random) }
    print(
      "\(modelPath) on the npu cycle model (\(config.clockGHz) GHz, GM \(config.gmRead.bytesPerCycle) B/cycle read): prefill \(prefill) tokens, \(decode) decode steps"
    )
    print(
      "PHASE                    CYCLES/TOKEN  TOK/S AT CLOCK  CUBE   VECTOR  MTE2   MTE1   FIXP   MTE3   GM READ/TOKEN  GM B/CYCLE  WALL S/TOKEN"
    )
    let warm = try LlamaSession(model: model, device: device, context: prefill + decode + 2)
    var started = Date()
    _ = try warm.prefill(prompt)
    row(
      "first prefill (+weights)", report(device), tokens: prefill, wall: Date().timeIntervalSince(started),
      config: config)
    let session = try LlamaSession(model: model, device: device, context: prefill + decode + 2)
    started = Date()
    let logits = try session.prefill(prompt)
    row("prefill", report(device), tokens: prefill, wall: Date().timeIntervalSince(started), config: config)
    // The first decode step compiles the decode graph; the steps after it are timed.
    let linked = try steadyDecode(session, logits, device, steps: decode)
    row("decode (steady)", linked.report, tokens: decode, wall: linked.wall, config: config)
    let perStepDevice = NPUDevice(
      config: config,
      options: CompileOptions(passes: PassPipeline.standard(evaluator: ReferenceConstantEvaluator()), fallback: "cpu"),
      host: CPUKernelRunner(), recordsCycles: true, granularity: .perStep)
    let perStepSession = try LlamaSession(model: model, device: perStepDevice, context: prefill + decode + 2)
    let perStep = try steadyDecode(perStepSession, try perStepSession.prefill(prompt), perStepDevice, steps: decode)
    row("decode, program per step", perStep.report, tokens: decode, wall: perStep.wall, config: config)
    print(
      String(
        format: "linked programs: decode cycles/token %.3fx the one-program-per-step peer's",
        Double(linked.report.cycles) / Double(perStep.report.cycles)))
    print(
      "decode is memory-bound when MTE2 (the GM-read DMA) is busy most of the time. Each segment of npu steps runs as one linked program, so a step's weights load while the step before drains. Steps left on the host (none on SmolLM2's decode path) are not in the cycle counts."
    )
  }

  /// `steps` greedy decode steps after the prefill that gave `logits` (one more first, which
  /// compiles the decode graph): their cycle report and wall time.
  private static func steadyDecode(_ session: LlamaSession, _ logits: [Float], _ device: NPUDevice, steps: Int) throws
    -> (report: CycleReport, wall: Double)
  {
    var token = try session.decodeGreedy(logits.indices.max { logits[$0] < logits[$1] }!)
    _ = report(device)
    let started = Date()
    for _ in 0..<steps { token = try session.decodeGreedy(token) }
    return (report(device), Date().timeIntervalSince(started))
  }

  private static func report(_ device: NPUDevice) -> CycleReport { device.takeCycleReport()! }

  private static func row(_ phase: String, _ report: CycleReport, tokens: Int, wall: Double, config: NPUConfig) {
    let perToken = Double(report.cycles) / Double(tokens)
    let gmRead = Double((report.bytes[.gm2l1] ?? 0) + (report.bytes[.gm2ub] ?? 0)) / Double(tokens)
    let busy = [NPUUnit.cube, .vector, .mte2, .mte1, .fixp, .mte3].map {
      String(format: "%5.1f%%", report.busyFraction($0) * 100)
    }
    print(
      phase.padding(toLength: 24, withPad: " ", startingAt: 0)
        + String(
          format: " %-13.0f %-15.1f %@  %-14@ %-11.1f %.2f", perToken, config.clockGHz * 1e9 / perToken,
          busy.joined(separator: "  "), ByteCount(Int(gmRead)).description, gmRead / perToken, wall / Double(tokens)))
  }
}
