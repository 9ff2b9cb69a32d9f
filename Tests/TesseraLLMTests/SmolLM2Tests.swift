import Tessera
import TesseraTestSupport
import Testing

/// Checks against the real SmolLM2-135M-Instruct GGUF, when `scripts/fetch-model.sh` has placed
/// it in the model cache (`TESSERA_CACHE`).
@Suite(.enabled(if: ModelCache.defaultModelIfPresent != nil, "SmolLM2 GGUF absent: run `make model`"))
struct SmolLM2Tests {
  let path = ModelCache.defaultModelIfPresent ?? ""

  @Test func readsTheModelAndItsTokenizer() throws {
    let file = try GGUFFile(path: path)
    #expect(try file.string("general.architecture") == "llama")
    #expect(try file.string("tokenizer.ggml.pre") == "smollm")
    let config = try LlamaConfig(gguf: file)
    #expect(
      config.blockCount == 30 && config.embeddingLength == 576 && config.headCount == 9 && config.headCountKV == 3)
    #expect(config.vocabularySize == 49152)
    #expect(config.architecture == .llama && config.headDimension == 64 && config.ropeFrequencyFactors == nil)
    #expect(try file.chatTemplate() == ChatTemplate(format: .chatML, defaultSystem: ChatTemplate.smolLM2System))

    // Ids derived by hand: the pre-tokenizer words, spelled with Ġ for the space, looked up in
    // the vocabulary array itself.
    let vocabulary = try file.stringArray("tokenizer.ggml.tokens")
    func id(_ text: String) -> Int { vocabulary.firstIndex(of: text)! }
    let tokenizer = try BPETokenizer(gguf: file)
    #expect(try tokenizer.encode("The capital of France is") == ["The", "Ġcapital", "Ġof", "ĠFrance", "Ġis"].map(id))
    #expect(try tokenizer.encode("in 2024") == ["in", "Ġ", "2", "0", "2", "4"].map(id))
    let chat = try tokenizer.encode("<|im_start|>user\nHi<|im_end|>\n")
    #expect(chat == ["<|im_start|>", "user", "Ċ", "Hi", "<|im_end|>", "Ċ"].map(id))
    #expect(tokenizer.eosID == id("<|im_end|>") || tokenizer.eosID == id("<|endoftext|>"))
    let text = "Tessera runs SmolLM2 — on every chipset, naïvely? Yes!\n\n  Done."
    #expect(try tokenizer.decode(try tokenizer.encode(text)) == text)
  }

  @Test func generatesGreedilyOnTheReference() throws {
    let model = try LlamaModel(path: path)
    let prompt = try model.tokenizer.encode("The capital of France is")
    #expect(prompt == [504, 3575, 282, 4649, 314])
    let generator = Generator(session: try LlamaSession(model: model, device: ReferenceDevice(), context: 8))
    let result = try generator.generate(prompt: prompt, maxTokens: 2)
    #expect(result.generatedTokens.count == 2)
    #expect(result.text.contains("Paris"))
  }
}
