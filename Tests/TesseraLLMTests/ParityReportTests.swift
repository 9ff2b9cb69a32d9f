import Foundation
import Tessera
import TesseraTestSupport
import Testing

/// The parity report's figures: speeds over steady-state runs only (first use apart), memory from
/// each device's own count, from recorded step times and byte counts whose figures are worked out
/// by hand here.
@Suite struct ParityReportTests {
  private static let mebibyte = 1_048_576

  @Test func steadyStateSpeedsLeaveTheFirstPrefillAndDecodeStepOut() {
    let timings = GenerationTimings(promptTokens: 5, prefills: [2.0, 0.5], decodeSteps: [1.0, 0.25, 0.25])
    #expect(timings.firstPrefillSeconds == 2.0 && timings.firstDecodeStepSeconds == 1.0)
    #expect(timings.steadyPrefillCount == 1 && timings.steadyDecodeStepCount == 2)
    #expect(timings.prefillTokensPerSecond == 10, "5 tokens in 0.5 s")
    #expect(timings.decodeTokensPerSecond == 4, "2 steps in 0.5 s")
    let twice = GenerationTimings(promptTokens: 4, prefills: [3, 0.5, 1.5], decodeSteps: [])
    #expect(twice.prefillTokensPerSecond == 4, "8 tokens in 2 s")
  }

  @Test func withoutASecondRunThereIsNoSteadyStateFigure() {
    let timings = GenerationTimings(promptTokens: 5, prefills: [2.0], decodeSteps: [1.0])
    #expect(timings.prefillTokensPerSecond == nil && timings.decodeTokensPerSecond == nil)
    #expect(timings.steadyPrefillCount == 0 && timings.steadyDecodeStepCount == 0)
    #expect(GenerationTimings(promptTokens: 5).firstPrefillSeconds == nil)
  }

  @Test func memoryOtherIsTheTotalLessWeightsAndCache() {
    #expect(ModelMemory(weights: 100, cache: 20, total: 150).other == 30)
    #expect(ModelMemory(weights: 100, weightsReadInPlace: 40, cache: 20, total: 120).other == 0)
  }

  /// Two devices with known step times and allocations, and one that failed.
  private static let result = ParityResult(
    promptTokens: [1, 2, 3, 4, 5], referenceText: " Paris",
    rows: [
      ParityRow(
        device: "reference", tokens: [7, 8, 9], firstDivergence: nil, maxLogitDelta: [0, 0, 0],
        timings: GenerationTimings(promptTokens: 5, prefills: [4, 2], decodeSteps: [3, 2, 2]),
        memory: ModelMemory(weights: 100 * mebibyte, cache: mebibyte, total: 110 * mebibyte)),
      ParityRow(
        device: "cpu", tokens: [7, 8, 6], firstDivergence: 2, maxLogitDelta: [1e-5, 2e-5, 3e-5],
        timings: GenerationTimings(promptTokens: 5, prefills: [0.5, 0.02], decodeSteps: [0.2, 0.01, 0.015]),
        memory: ModelMemory(
          weights: 50 * mebibyte, weightsReadInPlace: 25 * mebibyte, cache: mebibyte, total: 60 * mebibyte)),
      ParityRow(
        device: "npu", tokens: [], firstDivergence: nil, maxLogitDelta: [], timings: GenerationTimings(promptTokens: 5),
        memory: nil, failure: "out of memory"),
    ], peakResidentBytes: 1662 * mebibyte)

  @Test func theSpeedColumnsShowFirstUseAndSteadyRatesWithTheirCounts() {
    #expect(
      ParityReport.cells(Self.result) == [
        ["reference", "yes", "0 0 0", "4.00 s, 3.00 s", "2.5 (1 run)", "0.50 (2 steps)"],
        ["cpu", "no: step 2", "1e-05 2e-05 3e-05", "0.50 s, 0.20 s", "250.0 (1 run)", "80.00 (2 steps)"],
        ["npu", "failed: out of memory", "-", "-", "-", "-"],
      ])
  }

  @Test func theMemoryTableShowsEachDevicesOwnCount() {
    #expect(
      ParityReport.memoryCells(Self.result) == [
        ["reference", "100.0 MiB", "1.0 MiB", "9.0 MiB", "110.0 MiB"],
        ["cpu", "50.0 MiB + 25.0 MiB read in place", "1.0 MiB", "9.0 MiB", "60.0 MiB"],
        ["npu", "-", "-", "-", "-"],
      ])
    #expect(ParityReport.peakLine(Self.result).hasSuffix(": 1662.0 MiB"))
    let html = ParityReport.html(Self.result, title: "t")
    #expect(
      html.contains("<td>80.00 (2 steps)</td>") && html.contains("<td>9.0 MiB</td>") && html.contains("1662.0 MiB"))
  }

  @Test func aParityRunRecordsWarmUpStepsAndTheDevicesOwnAllocations() throws {
    let model = try LlamaModel(path: try TinyLlama().write())
    let reference = ReferenceDevice(), kir = KIRDevice()
    let result = try ParityRunner.run(model: model, reference: reference, devices: [kir], prompt: [3, 17], steps: 3)
    for row in result.rows {
      #expect(row.timings.prefills.count == 2, "a warm-up prefill, then the timed one")
      #expect(row.timings.decodeSteps.count == 2, "3 tokens: the first from the prefill")
      #expect(row.timings.steadyDecodeStepCount == 1)
    }
    let held = try #require(result.rows[1].memory)
    let weightBytes = model.weights.tensors.reduce(0) { $0 + ($1.type.storageBytes ?? 0) }
    let cacheBytes = 2 * model.config.blockCount * (2 + 3) * model.config.kvWidth * 4  // k and v, f32
    #expect(held.weights == weightBytes && held.weightsReadInPlace == 0, "the host store copies every weight")
    #expect(held.cache == cacheBytes)
    #expect(held.total >= weightBytes + cacheBytes && held.total == held.weights + held.cache + held.other)
    #expect(result.peakResidentBytes != nil)
  }
}
