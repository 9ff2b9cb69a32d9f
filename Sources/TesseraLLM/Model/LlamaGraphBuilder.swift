import Foundation
import TesseraIR

/// The layers of a Llama-family forward pass on top of ``GraphBuilder``, with the weights as the
/// graph's first arguments. ``LlamaGraph`` wraps it into the prefill and decode graphs; the
/// configuration's ``ModelArchitecture`` switches the pieces that differ between families.
final class LlamaGraphBuilder {
  let builder: GraphBuilder
  let config: LlamaConfig
  private var weights: [String: ValueID] = [:]
  private var floatWeights: [ValueID: ValueID] = [:]
  private let tiedEmbeddings: Bool

  init(name: String, config: LlamaConfig, weights: LlamaWeights) {
    builder = GraphBuilder(name: name)
    self.config = config
    tiedEmbeddings = weights.tiedEmbeddings
    for (name, type) in zip(weights.names, weights.types) { self.weights[name] = builder.argument(name, type) }
  }

  private var architecture: ModelArchitecture { config.architecture }

  /// The whole model for `tokens` (`i32[T]`) at `positions` (`i32[T]`). `attend(layer, q, k, v)`
  /// receives the queries (`f32[T, heads · D]`) and the new keys and values (`f32[T, kvWidth]`)
  /// and returns the attention output (`f32[T, heads · D]`). Returns the logits of the last
  /// position, `f32[1, vocab]`.
  func forward(
    tokens: ValueID, positions: ValueID, attend: (Int, ValueID, ValueID, ValueID) -> ValueID
  ) -> ValueID {
    let count = builder.type(of: tokens).shape.dims[0]
    var x = builder.gather(float("token_embd.weight"), tokens, name: "embeddings")
    if architecture.scalesEmbeddings {
      x = builder.mul(x, builder.constant(Double(config.embeddingLength).squareRoot()))
    }
    for layer in 0..<config.blockCount {
      let p = "blk.\(layer)."
      let h = norm(x, p + "attn_norm.weight")
      let q = positioned(
        project(h, p + "attn_q"), heads: config.headCount, at: positions, layer: layer, p + "attn_q_norm")
      let k = positioned(
        project(h, p + "attn_k"), heads: config.headCountKV, at: positions, layer: layer, p + "attn_k_norm")
      let attended = linear(attend(layer, q, k, project(h, p + "attn_v")), p + "attn_output.weight")
      x = builder.add(x, architecture.hasPostNorms ? norm(attended, p + "post_attention_norm.weight") : attended)
      let ffn = feedForward(norm(x, p + "ffn_norm.weight"), prefix: p)
      x = builder.add(x, architecture.hasPostNorms ? norm(ffn, p + "post_ffw_norm.weight") : ffn)
    }
    let last = builder.slice(x, start: [count - 1, 0], end: [count, config.embeddingLength])
    let normalized = norm(last, "output_norm.weight")
    let logits = linear(normalized, tiedEmbeddings ? "token_embd.weight" : "output.weight", name: "logits")
    return config.finalSoftcap.map { softcap(logits, $0) } ?? logits
  }

  /// The gated FFN: `down(act(gate(x)) · up(x))`, act SiLU or GELU's tanh form.
  private func feedForward(_ x: ValueID, prefix p: String) -> ValueID {
    let gate = linear(x, p + "ffn_gate.weight")
    let activated = architecture.gatesWithGELU ? builder.gelu(gate, approximateTanh: true) : builder.silu(gate)
    return linear(builder.mul(activated, linear(x, p + "ffn_up.weight")), p + "ffn_down.weight")
  }

  /// Queries or keys `[T, heads · D]` made ready for attention: per-head RMS norm where the
  /// architecture has one (`normPrefix.weight`), then RoPE at `positions` with the layer's base
  /// and factors.
  private func positioned(
    _ x: ValueID, heads: Int, at positions: ValueID, layer: Int, _ normPrefix: String
  ) -> ValueID {
    let count = builder.type(of: x).shape.dims[0]
    var perHead = builder.reshape(x, to: [count, heads, config.headDimension])
    if architecture.hasQKNorm { perHead = norm(perHead, normPrefix + ".weight") }
    let rotated = rope(perHead, positions: positions, layer: layer)
    return builder.reshape(rotated, to: [count, heads * config.headDimension])
  }

  /// `cap · tanh(x / cap)`.
  func softcap(_ x: ValueID, _ cap: Double) -> ValueID {
    builder.mul(builder.tanh(builder.mul(x, builder.constant(1 / cap))), builder.constant(cap))
  }

  private func weight(_ name: String) -> ValueID { weights[name]! }

  /// RMS norm over the last axis with the stored weight (Gemma's `1 + w` is already in the file:
  /// llama.cpp's converter adds the 1).
  private func norm(_ x: ValueID, _ name: String) -> ValueID {
    builder.rmsNorm(x, weight: float(name), epsilon: config.rmsEpsilon)
  }

  /// The weight as f32: dequantized (q4_0/q4_1/q8_0), widened (f16/bf16) or as it is; once per
  /// weight, so a tied embedding is dequantized once for the lookup and the output.
  private func float(_ name: String) -> ValueID {
    let value = weight(name)
    if let converted = floatWeights[value] { return converted }
    let dtype = builder.type(of: value).dtype
    let converted =
      dtype.isQuantized ? builder.dequantize(value) : dtype == .f32 ? value : builder.cast(value, to: .f32)
    floatWeights[value] = converted
    return converted
  }

  /// The projection `prefix.weight`, plus `prefix.bias` where the architecture has q/k/v biases.
  private func project(_ x: ValueID, _ prefix: String) -> ValueID {
    let product = linear(x, prefix + ".weight")
    return architecture.hasQKVBias ? builder.add(product, float(prefix + ".bias")) : product
  }

  /// `x @ Wᵀ` for `x: [T, K]` and a weight stored `[N, K]` as GGUF does. Written as a matmul
  /// with `transpose(dequantize(W))`, the pattern backends recognise to multiply by the quantized
  /// rows directly (the CPU's quantized matvec reads the blocks and never materialises W).
  private func linear(_ x: ValueID, _ name: String, name resultName: String? = nil) -> ValueID {
    builder.matmul(x, builder.transpose(float(name)), name: resultName)
  }
}
