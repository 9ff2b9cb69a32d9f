import Foundation
import Tessera
import TesseraTestSupport
import Testing

/// `tessera generate` and `tessera parity` end to end on a tiny random Llama GGUF.
@Suite(.enabled(if: TestSupport.tesseraBinary != nil, "the tessera executable is not built next to the tests"))
struct LLMCommandTests {
  private func tessera(_ arguments: String...) throws -> TestSupport.ProcessResult {
    try TestSupport.runProcess(TestSupport.tesseraBinary!, arguments)
  }

  @Test func generateWritesJSON() throws {
    let path = try TinyLlama().write()
    let result = try tessera("generate", "--model", path, "--prompt", "abc", "--max-tokens", "3", "--format", "json")
    #expect(result.status == 0)
    let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
    #expect(object?["prompt_tokens"] as? [Int] == [0, 1, 2])
    let generated = object?["generated_tokens"] as? [Int] ?? []
    #expect(
      generated.count == 3 || (1...3 ~= generated.count && generated.last == 47), "3 tokens or up to the eos (47)")
    #expect(object?["device"] as? String == "cpu", "the fastest usable device by default")
    #expect((object?["text"] as? String) == generated.map(TinyLlama.tokenText).joined())
    // One prefill (first use: no steady-state prefill without --warmup); the first decode step is
    // first use too, so the steps after it are timed.
    #expect(object?["prefill_runs_timed"] as? Int == 0 && object?["prefill_tokens_per_second"] is NSNull)
    #expect(object?["first_prefill_seconds"] as? Double != nil)
    #expect(object?["decode_steps_timed"] as? Int == max(generated.count - 2, 0))
    let held = object?["device_bytes"] as? [String: Int] ?? [:]
    #expect((held["kv_cache"] ?? 0) > 0 && (held["total"] ?? 0) >= (held["kv_cache"] ?? 0) + (held["weights"] ?? 0))
  }

  @Test func generateRunsEachArchitecture() throws {
    for tiny in TinyTransformer.all where tiny.label == "qwen3 (q/k norm, wide heads)" || tiny.label.hasPrefix("gemma3")
    {
      let result = try tessera("generate", "--model", try tiny.write(), "--prompt", "abc", "--max-tokens", "2")
      #expect(result.status == 0, "\(tiny): \(result.stderr)")
    }
  }

  @Test func chatNeedsAChatTemplateInTheFile() throws {
    let result = try tessera("generate", "--model", try TinyLlama().write(), "--prompt", "abc", "--chat")
    #expect(result.status == 2)
    #expect(result.stderr.contains("the model file has no chat template (tokenizer.chat_template)"))
  }

  @Test func generateWithWarmupTimesASteadyPrefill() throws {
    let path = try TinyLlama().write()
    let result = try tessera(
      "generate", "--model", path, "--prompt", "abc", "--max-tokens", "2", "--format", "json", "--warmup")
    #expect(result.status == 0)
    let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
    #expect(object?["prefill_runs_timed"] as? Int == 1 && object?["prefill_tokens_per_second"] as? Double != nil)
  }

  @Test func parityPrintsATableAndWritesAReport() throws {
    let path = try TinyLlama().write()
    let report = TestSupport.temporaryDirectory("parity") + "/parity.html"
    let result = try tessera(
      "parity", "--model", path, "--devices", "reference,kir", "--steps", "3", "--prompt", "ab", "--report", report)
    #expect(result.status == 0)
    #expect(result.stdout.contains("TOKENS = REFERENCE") && result.stdout.contains("kir"))
    #expect(result.stdout.contains("FIRST PREFILL, STEP") && result.stdout.contains("(1 step)"))
    #expect(result.stdout.contains("DEVICE TOTAL") && result.stdout.contains("process peak RSS"))
    #expect(try String(contentsOfFile: report, encoding: .utf8).contains("<svg"))
  }

  @Test func generateAndParityTraceInDeterministicMode() throws {
    let path = try TinyLlama().write()
    let directory = TestSupport.temporaryDirectory("llm-trace")
    let commands = [
      ["generate", "--model", path, "--prompt", "abc", "--max-tokens", "3", "--device", "cpu"],
      ["parity", "--model", path, "--devices", "reference,cpu", "--steps", "2", "--prompt", "ab"],
    ]
    var outputs: [String] = []
    for (index, command) in commands.enumerated() {
      let trace = directory + "/\(index).json"
      let result = try TestSupport.runProcess(
        TestSupport.tesseraBinary!, command + ["--deterministic", "--trace", trace])
      #expect(result.status == 0, "\(result.stderr)")
      outputs.append(result.stdout)
      let check = ChromeTraceCheck(try String(contentsOfFile: trace, encoding: .utf8))
      #expect(check.problems.isEmpty, "\(check.problems)")
      let host = check.spans(process: "host", thread: "main").map(\.name)
      #expect(host.first == "load model \(path)")
      #expect(host.contains("upload weights") && host.contains { $0.hasPrefix("run @") }, "\(host)")
      #expect(!check.spans(process: "cpu", thread: "kernels").isEmpty)
    }
    // The same command again gives the same tokens.
    let again = try TestSupport.runProcess(TestSupport.tesseraBinary!, commands[0] + ["--deterministic"])
    #expect(again.stdout == outputs[0])
  }

  @Test func malformedModelsExitWith2() throws {
    let path = TestSupport.temporaryDirectory("bad-model") + "/bad.gguf"
    try Data("GGUF".utf8).write(to: URL(fileURLWithPath: path))
    let result = try tessera("generate", "--model", path, "--prompt", "x")
    #expect(result.status == 2 && result.stderr.contains("GGUF file is truncated"))
    let usage = try tessera("generate", "--model", path)
    #expect(usage.status == 2 && usage.stderr.contains("--prompt TEXT is required"))
  }
}
