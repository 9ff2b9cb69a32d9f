import Foundation
import Tessera
import TesseraTestSupport
import Testing

/// What each architecture reads from its GGUF keys and tensors, and the errors for files the
/// builder does not support.
@Suite struct ArchitectureConfigTests {
  func variant(_ label: String) -> TinyTransformer { TinyTransformer.all.first { $0.label.hasPrefix(label) }! }

  func write(_ writer: GGUFWriter) throws -> String {
    let path = TestSupport.temporaryDirectory("tiny-arch") + "/tiny.gguf"
    try writer.write(to: path)
    return path
  }

  @Test func qwen3HeadsAreWiderThanTheHiddenSizeOverHeads() throws {
    let config = try LlamaModel(path: try variant("qwen3").write()).config
    #expect(config.architecture == .qwen3 && config.headDimension == 16)
    #expect(config.queryWidth == 64 && config.kvWidth == 32)
  }

  @Test func gemma3InterleavesFiveLocalLayersWithOneGlobal() throws {
    let config = try LlamaModel(path: try variant("gemma3 (window").write()).config
    #expect(config.slidingWindow == 3)
    #expect((0..<6).map(config.isSlidingWindowLayer) == [true, true, true, true, true, false])
    #expect((0..<6).map(config.ropeBase(layer:)) == [10000, 10000, 10000, 10000, 10000, 100_000])
    #expect(config.attentionSoftcap == nil && config.finalSoftcap == nil)
    let capped = try LlamaModel(path: try variant("gemma3 (soft").write()).config
    #expect(capped.attentionSoftcap == 1.5 && capped.finalSoftcap == 4)
  }

  @Test func llama3ReadsTheRopeFrequencyFactors() throws {
    let config = try LlamaModel(path: try variant("llama3").write()).config
    #expect(config.ropeFrequencyFactors == [1, 1, 2, 8])
    #expect(try LlamaModel(path: try variant("llama").write()).config.ropeFrequencyFactors == nil)
  }

  @Test func linearRopeScalingIsOneFactorForEveryPair() throws {
    var writer = variant("llama").writer()
    writer.metadata += [("llama.rope.scaling.type", .string("linear")), ("llama.rope.scaling.factor", .float32(4))]
    #expect(try LlamaConfig(gguf: try GGUFFile(path: try write(writer))).ropeFrequencyFactors == [4, 4, 4, 4])
  }

  @Test func anUnknownArchitectureIsNamedWithTheSupportedOnes() throws {
    var writer = variant("llama").writer()
    writer.metadata[0] = ("general.architecture", .string("mamba"))
    let path = try write(writer)
    #expect(throws: ModelError.unsupportedArchitecture("mamba")) { try LlamaModel(path: path) }
    #expect(
      ModelError.unsupportedArchitecture("mamba").description
        == "model architecture 'mamba' is not supported (supported: llama, qwen2, qwen3, gemma3)")
  }

  @Test func aMissingArchitectureTensorIsNamed() throws {
    var writer = variant("qwen3").writer()
    writer.tensors.removeAll { $0.name == "blk.1.attn_k_norm.weight" }
    let path = try write(writer)
    #expect(
      throws: ModelError.unsupportedTensorLayout(
        architecture: "qwen3", detail: "it needs the tensor 'blk.1.attn_k_norm.weight', which the file lacks")
    ) { try LlamaModel(path: path) }
  }

  @Test func aTensorTheArchitectureDoesNotUseIsAnError() throws {
    var writer = variant("qwen2").writer()
    writer.metadata[0] = ("general.architecture", .string("llama"))
    writer.metadata = writer.metadata.map { ($0.key.replacingOccurrences(of: "qwen2.", with: "llama."), $0.value) }
    let path = try write(writer)
    #expect {
      try LlamaModel(path: path)
    } throws: { error in
      "\(error)".hasPrefix(
        "unsupported tensor layout for the llama architecture: the file has 6 tensor(s) it does not use: 'blk.0.attn_q.bias'"
      )
    }
  }

  @Test func unsupportedRopeScalingIsNamed() throws {
    var writer = variant("llama").writer()
    writer.metadata.append(("llama.rope.scaling.type", .string("yarn")))
    let path = try write(writer)
    #expect(
      throws: ModelError.unsupportedFeature("llama.rope.scaling.type 'yarn' (supported: none, linear, rope_freqs)")
    ) { try LlamaModel(path: path) }
  }
}
