import Foundation
import Tessera

/// A tiny random-weight model of one architecture (`llama`, `qwen2`, `qwen3`, `gemma3`) written
/// as a GGUF file with F32 weights, for tests that compare Tessera with an independent forward
/// pass (`scripts/llm-oracle.py`). Hidden 32, FFN 48, 4 query heads, a 48-token vocabulary of
/// single letters (``TinyLlama/tokenText(_:)``), and each architecture's own tensors and keys.
public struct TinyTransformer: Sendable, CustomStringConvertible {
  /// A named variant, for parameterised tests.
  public let label: String
  /// `general.architecture`.
  public let architecture: String
  /// Transformer blocks.
  public var layers = 2
  /// Key/value heads.
  public var kvHeads = 2
  /// Head width written as `key_length`/`value_length`; `nil`: hidden / heads, key not written.
  public var headDimension: Int?
  /// Llama 3's `rope_freqs.weight`, one factor per rotated pair.
  public var ropeFactors: [Float]?
  /// `attention.sliding_window`.
  public var slidingWindow: Int?
  /// `attn_logit_softcapping` and `final_logit_softcapping`.
  public var softcaps: (attention: Float, final: Float)?
  /// Whether the output projection reuses the embeddings (no `output.weight`).
  public var tiedEmbeddings = false
  /// Seed of the weights.
  public var seed: UInt64 = 7

  /// Hidden size.
  public let embedding = 32
  /// FFN inner size.
  public let feedForward = 48
  /// Query heads.
  public let heads = 4
  /// Vocabulary size.
  public let vocabulary = 48

  /// Describes a model of `architecture`.
  public init(_ label: String, architecture: String) {
    self.label = label
    self.architecture = architecture
  }

  /// The variants the architecture tests run: each family's distinctive pieces.
  public static let all: [TinyTransformer] = {
    var llama3 = TinyTransformer("llama3 (rope_freqs)", architecture: "llama")
    llama3.ropeFactors = [1, 1, 2, 8]
    var qwen2 = TinyTransformer("qwen2 (biases, tied)", architecture: "qwen2")
    qwen2.tiedEmbeddings = true
    var qwen3 = TinyTransformer("qwen3 (q/k norm, wide heads)", architecture: "qwen3")
    qwen3.headDimension = 16
    var gemma3 = TinyTransformer("gemma3 (window 3, 6 layers)", architecture: "gemma3")
    (gemma3.layers, gemma3.kvHeads, gemma3.headDimension, gemma3.slidingWindow) = (6, 1, 12, 3)
    gemma3.tiedEmbeddings = true
    var capped = TinyTransformer("gemma3 (soft caps)", architecture: "gemma3")
    (capped.layers, capped.kvHeads, capped.headDimension, capped.slidingWindow) = (6, 2, 8, 4)
    capped.softcaps = (attention: 1.5, final: 4)
    return [TinyTransformer("llama", architecture: "llama"), llama3, qwen2, qwen3, gemma3, capped]
  }()

  /// The label, in test names.
  public var description: String { label }

  /// The file's description.
  public func writer() -> GGUFWriter {
    var random = SeededRandom(seed: seed)
    let d = headDimension ?? embedding / heads
    let (q, kv) = (heads * d, kvHeads * d)
    var writer = GGUFWriter()
    let a = architecture + "."
    writer.metadata = [
      ("general.architecture", .string(architecture)), (a + "block_count", .uint32(UInt32(layers))),
      (a + "embedding_length", .uint32(UInt32(embedding))), (a + "feed_forward_length", .uint32(UInt32(feedForward))),
      (a + "attention.head_count", .uint32(UInt32(heads))), (a + "attention.head_count_kv", .uint32(UInt32(kvHeads))),
      (a + "rope.freq_base", .float32(architecture == "gemma3" ? 100_000 : 10000)),
      (a + "attention.layer_norm_rms_epsilon", .float32(1e-6)), (a + "context_length", .uint32(64)),
      ("tokenizer.ggml.model", .string("gpt2")),
      (
        "tokenizer.ggml.tokens",
        .array(GGUFArray(elementType: .string, elements: (0..<vocabulary).map { .string(TinyLlama.tokenText($0)) }))
      ),
      ("tokenizer.ggml.merges", .array(GGUFArray(elementType: .string, elements: []))),
    ]
    if let headDimension {
      writer.metadata += [
        (a + "attention.key_length", .uint32(UInt32(headDimension))),
        (a + "attention.value_length", .uint32(UInt32(headDimension))),
      ]
    }
    if let slidingWindow { writer.metadata.append((a + "attention.sliding_window", .uint32(UInt32(slidingWindow)))) }
    if let softcaps {
      writer.metadata += [
        (a + "attn_logit_softcapping", .float32(softcaps.attention)),
        (a + "final_logit_softcapping", .float32(softcaps.final)),
      ]
    }
    func add(_ name: String, _ shape: [Int], around center: Float = 0, scale: Float) {
      let values = (0..<shape.reduce(1, *)).map { _ in center + Float.random(in: -scale...scale, using: &random) }
      var bytes = ByteWriter()
      for value in values { bytes.u32(value.bitPattern) }
      writer.tensors.append(.init(name: name, dims: shape.reversed(), typeCode: 0, bytes: bytes.bytes))
    }
    let norm: (String, Int) -> Void = { name, width in add(name, [width], around: 1, scale: 0.5) }
    add("token_embd.weight", [vocabulary, embedding], scale: 1)
    if let ropeFactors {
      var bytes = ByteWriter()
      for value in ropeFactors { bytes.u32(value.bitPattern) }
      writer.tensors.append(
        .init(name: "rope_freqs.weight", dims: [ropeFactors.count], typeCode: 0, bytes: bytes.bytes))
    }
    for layer in 0..<layers {
      let p = "blk.\(layer)."
      norm(p + "attn_norm.weight", embedding)
      add(p + "attn_q.weight", [q, embedding], scale: 0.3)
      add(p + "attn_k.weight", [kv, embedding], scale: 0.3)
      add(p + "attn_v.weight", [kv, embedding], scale: 0.3)
      if architecture == "qwen2" {
        add(p + "attn_q.bias", [q], scale: 0.5)
        add(p + "attn_k.bias", [kv], scale: 0.5)
        add(p + "attn_v.bias", [kv], scale: 0.5)
      }
      if architecture == "qwen3" || architecture == "gemma3" {
        norm(p + "attn_q_norm.weight", d)
        norm(p + "attn_k_norm.weight", d)
      }
      add(p + "attn_output.weight", [embedding, q], scale: 0.3)
      norm(p + "ffn_norm.weight", embedding)
      add(p + "ffn_gate.weight", [feedForward, embedding], scale: 0.3)
      add(p + "ffn_up.weight", [feedForward, embedding], scale: 0.3)
      add(p + "ffn_down.weight", [embedding, feedForward], scale: 0.3)
      if architecture == "gemma3" {
        norm(p + "post_attention_norm.weight", embedding)
        norm(p + "post_ffw_norm.weight", embedding)
      }
    }
    norm("output_norm.weight", embedding)
    if !tiedEmbeddings { add("output.weight", [vocabulary, embedding], scale: 1) }
    return writer
  }

  /// Writes the model to a fresh temporary folder and returns the file's path.
  public func write() throws -> String {
    let path = TestSupport.temporaryDirectory("tiny-\(architecture)") + "/tiny.gguf"
    try writer().write(to: path)
    return path
  }
}
