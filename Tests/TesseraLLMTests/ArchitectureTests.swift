import Foundation
import Tessera
import TesseraTestSupport
import Testing

/// Every supported architecture as a tiny F32 GGUF, run on `reference` and `cpu` and compared
/// with the numpy forward pass of `scripts/llm-oracle.py`: prefill logits, greedy tokens (past
/// the sliding window), and the parity report (every usable device).
@Suite(
  "Architectures against an independent numpy forward pass",
  .enabled(if: TestSupport.numpyAvailable, LLMOracle.skipReason))
struct ArchitectureTests {
  /// Five tokens: longer than the tiny Gemma windows, so local layers mask in prefill too.
  static let prompt = [3, 17, 5, 40, 8]

  static func devices() throws -> [any Device] {
    let registry = DeviceRegistry.standard()
    return try ["reference", "cpu"].map { try registry.device(named: $0) }
  }

  /// `|a - b| / (1e-3 + 1e-3·|b|)` at its worst; at most 1 is a match.
  static func worstError(_ actual: [Float], _ expected: [Double]) -> Double {
    guard actual.count == expected.count else { return .infinity }
    return zip(actual, expected).map { Swift.abs(Double($0) - $1) / (1e-3 + 1e-3 * Swift.abs($1)) }.max() ?? 0
  }

  @Test("prefill logits equal numpy's on reference and cpu", arguments: TinyTransformer.all)
  func prefillMatchesNumpy(_ tiny: TinyTransformer) throws {
    let path = try tiny.write()
    let oracle = try LLMOracle.run(path, prompt: Self.prompt, steps: 0)
    let model = try LlamaModel(path: path)
    for device in try Self.devices() {
      let logits = try LlamaSession(model: model, device: device, context: 16).prefill(Self.prompt)
      #expect(Self.worstError(logits, oracle.logits) <= 1, "\(device.info.name)")
    }
  }

  @Test("greedy tokens equal numpy's on reference and cpu", arguments: TinyTransformer.all)
  func greedyTokensMatchNumpy(_ tiny: TinyTransformer) throws {
    let path = try tiny.write()
    let oracle = try LLMOracle.run(path, prompt: Self.prompt, steps: 8)
    let expected = oracle.reliableTokens()
    #expect(expected.count >= 4, "the tiny model's greedy steps should not tie this early")
    let model = try LlamaModel(path: path)
    for device in try Self.devices() {
      var generator = Generator(session: try LlamaSession(model: model, device: device, context: 16))
      generator.stopTokens = []
      let result = try generator.generate(prompt: Self.prompt, maxTokens: 8)
      #expect(Array(result.generatedTokens.prefix(expected.count)) == expected, "\(device.info.name)")
    }
  }

  @Test("the parity report finds cpu equal to the reference", arguments: TinyTransformer.all)
  func parityReportAgrees(_ tiny: TinyTransformer) throws {
    let model = try LlamaModel(path: try tiny.write())
    let devices = try Self.devices()
    let result = try ParityRunner.run(
      model: model, reference: devices[0], devices: devices, prompt: Self.prompt, steps: 6)
    #expect(result.rows.map(\.device) == ["reference", "cpu"])
    #expect(result.rows.allSatisfy { $0.failure == nil && $0.firstDivergence == nil })
    #expect(result.rows[1].maxLogitDelta.allSatisfy { $0 < 1e-3 })
  }

  /// Every usable device but the reference and the KIR interpreter (a debugging aid, minutes
  /// on this graph; `LlamaModelTests` covers it), by name.
  static let otherDevices = DeviceRegistry.standard().availableDevices.map(\.info.name).filter {
    $0 != "reference" && $0 != "kir"
  }

  /// Every architecture on every other device, two steps each for time.
  @Test(
    "the parity report finds every usable device near the reference on every architecture",
    arguments: TinyTransformer.all, otherDevices)
  func parityOnEveryDevice(_ tiny: TinyTransformer, _ name: String) throws {
    let model = try LlamaModel(path: try tiny.write())
    let registry = DeviceRegistry.standard()
    let result = try ParityRunner.run(
      model: model, reference: try registry.device(named: "reference"), devices: [try registry.device(named: name)],
      prompt: Self.prompt, steps: 2)
    let row = try #require(result.rows.first)
    #expect(row.failure == nil)
    let tolerance = name == "npu" ? 0.1 : 1e-3  // the NPU multiplies fp16 operands
    #expect(row.maxLogitDelta.allSatisfy { $0 < tolerance }, "\(name): \(row.maxLogitDelta)")
  }
}
