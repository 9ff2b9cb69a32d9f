import Foundation
import Tessera

/// A tiny random-weight Llama written as a GGUF file for tests: 2 layers, hidden 32, 4 query
/// heads over 2 key/value heads (GQA), FFN 64, 48 tokens. The attention weights are Q8_0, the FFN
/// Q4_1, the output F16 and the norms F32; ``weights`` holds the exact values each stored tensor
/// stands for, decoded here from the blocks this file wrote, for an independent forward pass.
public struct TinyLlama {
  /// Transformer blocks.
  public let layers = 2
  /// Hidden size.
  public let embedding = 32
  /// FFN inner size.
  public let feedForward = 64
  /// Query heads.
  public let heads = 4
  /// Key/value heads.
  public let kvHeads = 2
  /// Vocabulary size.
  public let vocabulary = 48
  /// RoPE base.
  public let ropeBase = 10000.0
  /// RMS norm epsilon.
  public let epsilon = 1e-5
  /// Training context.
  public let contextLength = 64
  /// Each weight's values in IR (row-major `[rows, columns]`) order, by GGUF name.
  public private(set) var weights: [String: [Double]] = [:]
  /// The GGUF file.
  public private(set) var writer = GGUFWriter()

  /// Draws the weights from `seed`.
  public init(seed: UInt64 = 1) {
    var random = SeededRandom(seed: seed)
    let kvWidth = kvHeads * embedding / heads
    writer.metadata = [
      ("general.architecture", .string("llama")), ("llama.block_count", .uint32(UInt32(layers))),
      ("llama.embedding_length", .uint32(UInt32(embedding))),
      ("llama.feed_forward_length", .uint32(UInt32(feedForward))),
      ("llama.attention.head_count", .uint32(UInt32(heads))),
      ("llama.attention.head_count_kv", .uint32(UInt32(kvHeads))),
      ("llama.rope.freq_base", .float32(Float(ropeBase))),
      ("llama.attention.layer_norm_rms_epsilon", .float32(Float(epsilon))),
      ("llama.context_length", .uint32(UInt32(contextLength))),
      ("tokenizer.ggml.model", .string("gpt2")),
      (
        "tokenizer.ggml.tokens",
        .array(GGUFArray(elementType: .string, elements: (0..<vocabulary).map { .string(Self.tokenText($0)) }))
      ),
      ("tokenizer.ggml.merges", .array(GGUFArray(elementType: .string, elements: []))),
      ("tokenizer.ggml.eos_token_id", .uint32(UInt32(vocabulary - 1))),
    ]
    add("token_embd.weight", rows: vocabulary, columns: embedding, type: 8, scale: 1, &random)
    for layer in 0..<layers {
      let p = "blk.\(layer)."
      addNorm(p + "attn_norm.weight", &random)
      add(p + "attn_q.weight", rows: embedding, columns: embedding, type: 8, scale: 0.3, &random)
      add(p + "attn_k.weight", rows: kvWidth, columns: embedding, type: 8, scale: 0.3, &random)
      add(p + "attn_v.weight", rows: kvWidth, columns: embedding, type: 8, scale: 0.3, &random)
      add(p + "attn_output.weight", rows: embedding, columns: embedding, type: 8, scale: 0.3, &random)
      addNorm(p + "ffn_norm.weight", &random)
      add(p + "ffn_gate.weight", rows: feedForward, columns: embedding, type: 3, scale: 0.3, &random)
      add(p + "ffn_up.weight", rows: feedForward, columns: embedding, type: 3, scale: 0.3, &random)
      add(p + "ffn_down.weight", rows: embedding, columns: feedForward, type: 3, scale: 0.3, &random)
    }
    addNorm("output_norm.weight", &random)
    add("output.weight", rows: vocabulary, columns: embedding, type: 1, scale: 1, &random)
  }

  /// The text of token `id` in the tiny vocabulary: one letter or digit each.
  public static func tokenText(_ id: Int) -> String {
    String(Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV")[id])
  }

  /// Writes the model to a fresh temporary folder and returns the file's path.
  public func write() throws -> String {
    let path = TestSupport.temporaryDirectory("tiny-llama") + "/tiny.gguf"
    try writer.write(to: path)
    return path
  }

  private mutating func addNorm(_ name: String, _ random: inout SeededRandom) {
    let values = (0..<embedding).map { _ in Float.random(in: 0.5...1.5, using: &random) }
    weights[name] = values.map(Double.init)
    var bytes = ByteWriter()
    for value in values { bytes.u32(value.bitPattern) }
    writer.tensors.append(.init(name: name, dims: [embedding], typeCode: 0, bytes: bytes.bytes))
  }

  /// Adds a `[rows, columns]` weight (GGUF dims `[columns, rows]`) of ggml type 1 (F16),
  /// 3 (Q4_1) or 8 (Q8_0), with values uniform in ±scale.
  private mutating func add(
    _ name: String, rows: Int, columns: Int, type: UInt32, scale: Float, _ random: inout SeededRandom
  ) {
    let values = (0..<(rows * columns)).map { _ in Float.random(in: -scale...scale, using: &random) }
    let (bytes, decoded) =
      switch type {
      case 1: Self.f16(values)
      case 3: Self.q4_1(values)
      default: Self.q8_0(values)
      }
    weights[name] = decoded
    writer.tensors.append(.init(name: name, dims: [columns, rows], typeCode: type, bytes: bytes))
  }

  private static func f16(_ values: [Float]) -> ([UInt8], [Double]) {
    var out = ByteWriter()
    for value in values { out.integer(UInt64(Float16(value).bitPattern), width: 2) }
    return (out.bytes, values.map { Double(Float16($0)) })
  }

  /// Q8_0: per 32 values, f16 scale `d = max|x| / 127`, then `round(x / d)` as signed bytes.
  private static func q8_0(_ values: [Float]) -> ([UInt8], [Double]) {
    var out = ByteWriter()
    var decoded: [Double] = []
    for start in stride(from: 0, to: values.count, by: 32) {
      let block = values[start..<(start + 32)]
      let scale = Float16((block.map { Swift.abs($0) }.max() ?? 0) / 127)
      out.integer(UInt64(scale.bitPattern), width: 2)
      for value in block {
        let q = Int8(Swift.max(-127, Swift.min(127, (value / Float(scale)).rounded())))
        out.bytes.append(UInt8(bitPattern: q))
        decoded.append(Double(q) * Double(scale))
      }
    }
    return (out.bytes, decoded)
  }

  /// Q4_1: per 32 values, f16 step `d = (max - min) / 15` and f16 minimum `m`, then 4-bit
  /// `round((x - m) / d)`: byte j holds value j (low nibble) and value j + 16 (high nibble).
  private static func q4_1(_ values: [Float]) -> ([UInt8], [Double]) {
    var out = ByteWriter()
    var decoded: [Double] = []
    for start in stride(from: 0, to: values.count, by: 32) {
      let block = Array(values[start..<(start + 32)])
      let low = block.min()!, high = block.max()!
      let step = Float16((high - low) / 15), minimum = Float16(low)
      out.integer(UInt64(step.bitPattern), width: 2)
      out.integer(UInt64(minimum.bitPattern), width: 2)
      let q = block.map { UInt8(Swift.max(0, Swift.min(15, (($0 - Float(minimum)) / Float(step)).rounded()))) }
      for j in 0..<16 { out.bytes.append(q[j] | q[j + 16] << 4) }
      decoded += q.map { Double(Float(Float(Int($0)) * Float(step) + Float(minimum))) }
    }
    return (out.bytes, decoded)
  }
}
