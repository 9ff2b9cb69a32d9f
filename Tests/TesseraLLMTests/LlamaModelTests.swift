import Foundation
import Tessera
import TesseraTestSupport
import Testing

@Suite struct LlamaModelTests {
  let tiny = TinyLlama()

  func load() throws -> LlamaModel { try LlamaModel(path: try tiny.write()) }

  func worstError(_ actual: [Float], _ expected: [Double]) -> Double {
    zip(actual, expected).map { Swift.abs(Double($0) - $1) / (1e-3 + 1e-3 * Swift.abs($1)) }.max() ?? .infinity
  }

  @Test func readsTheHyperparametersAndTiedFlag() throws {
    let model = try load()
    #expect(model.config.blockCount == 2 && model.config.headCountKV == 2 && model.config.headDimension == 8)
    #expect(model.config.vocabularySize == 48 && model.config.kvWidth == 16)
    #expect(!model.weights.tiedEmbeddings)
    #expect(model.weights.tensors[0].type == TensorType(.q8_0, [48, 32]))
  }

  @Test func prefillMatchesAnIndependentForwardPass() throws {
    let model = try load()
    let tokens = [3, 17, 5, 40]
    let session = try LlamaSession(model: model, device: ReferenceDevice(), context: 8)
    let logits = try session.prefill(tokens)
    #expect(logits.count == 48)
    #expect(worstError(logits, LlamaOracle(model: tiny).logits(tokens)) <= 1)
  }

  @Test func prefillThenDecodeEqualsFullRecompute() throws {
    let model = try load()
    let tokens = [3, 17, 5, 40, 8]
    let session = try LlamaSession(model: model, device: ReferenceDevice(), context: 8)
    _ = try session.prefill(Array(tokens.prefix(3)))
    _ = try session.decode(tokens[3])
    let stepped = try session.decode(tokens[4])
    #expect(session.position == 5)
    let full = try LlamaSession(model: model, device: ReferenceDevice(), context: 8).prefill(tokens)
    #expect(zip(stepped, full).allSatisfy { Swift.abs($0 - $1) <= 1e-4 * (1 + Swift.abs($1)) })
    #expect(worstError(stepped, LlamaOracle(model: tiny).logits(tokens)) <= 1)
  }

  @Test func decodeRejectsAFullContext() throws {
    let session = try LlamaSession(model: try load(), device: ReferenceDevice(), context: 2)
    _ = try session.prefill([1, 2])
    #expect(throws: ModelError.contextFull(tokens: 3, context: 2)) { try session.decode(3) }
    #expect(throws: ModelError.tokenOutOfRange(99, vocabularySize: 48)) { try session.prefill([99]) }
  }

  @Test func greedyGenerationIsDeterministicAndFollowsTheOracle() throws {
    let model = try load()
    func run() throws -> GenerationResult {
      var generator = Generator(session: try LlamaSession(model: model, device: ReferenceDevice(), context: 8))
      generator.stopTokens = []
      return try generator.generate(prompt: [3, 17], maxTokens: 4)
    }
    let first = try run(), second = try run()
    #expect(first.generatedTokens == second.generatedTokens && first.generatedTokens.count == 4)
    let oracle = LlamaOracle(model: tiny)
    var sequence = [3, 17]
    for token in first.generatedTokens {
      let logits = oracle.logits(sequence)
      #expect(token == logits.indices.max { logits[$0] < logits[$1] })
      sequence.append(token)
    }
    #expect(first.text == first.generatedTokens.map(TinyLlama.tokenText).joined())
  }

  @Test func kirDeviceAgreesWithTheReference() throws {
    let model = try load()
    let reference = try LlamaSession(model: model, device: ReferenceDevice(), context: 4)
    let kir = try LlamaSession(model: model, device: KIRDevice(), context: 4)
    for session in [reference, kir] { _ = try session.prefill([3, 17]) }
    let expected = try reference.decode(5), actual = try kir.decode(5)
    #expect(zip(actual, expected).allSatisfy { Swift.abs($0 - $1) <= 1e-3 * (1 + Swift.abs($1)) })
  }

  @Test func parityRowsCompareEveryDeviceWithTheReference() throws {
    let model = try load()
    let reference = ReferenceDevice()
    let result = try ParityRunner.run(
      model: model, reference: reference, devices: [reference, KIRDevice()], prompt: [3, 17], steps: 2)
    #expect(result.rows.map(\.device) == ["reference", "kir"])
    #expect(result.rows.allSatisfy { $0.failure == nil && $0.firstDivergence == nil && $0.maxLogitDelta.count == 2 })
    #expect(result.rows[0].maxLogitDelta == [0, 0])
    #expect(result.rows[1].maxLogitDelta.allSatisfy { $0 < 1e-3 })
    let html = ParityReport.html(result, title: "tiny")
    #expect(html.contains("<svg") && html.contains("polyline") && html.contains("kir"))
  }
}
