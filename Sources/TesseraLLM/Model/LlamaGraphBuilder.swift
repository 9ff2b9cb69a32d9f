import TesseraIR

/// The layers of the Llama forward pass on top of ``GraphBuilder``, with the weights as the
/// graph's first arguments. ``LlamaGraph`` wraps it into the prefill and decode graphs.
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

  /// The whole model for `tokens` (`i32[T]`) at `positions` (`i32[T]`). `attend(layer, q, k, v)`
  /// receives the queries (`f32[T, heads · D]`) and the new keys and values (`f32[T, kvWidth]`)
  /// and returns the attention output (`f32[T, heads · D]`). Returns the logits of the last
  /// position, `f32[1, vocab]`.
  func forward(
    tokens: ValueID, positions: ValueID, attend: (Int, ValueID, ValueID, ValueID) -> ValueID
  ) -> ValueID {
    let count = builder.type(of: tokens).shape.dims[0]
    var x = builder.gather(float("token_embd.weight"), tokens, name: "embeddings")
    for layer in 0..<config.blockCount {
      let p = "blk.\(layer)."
      let h = builder.rmsNorm(x, weight: weight(p + "attn_norm.weight"), epsilon: config.rmsEpsilon)
      let q = rope(linear(h, p + "attn_q.weight"), heads: config.headCount, positions: positions)
      let k = rope(linear(h, p + "attn_k.weight"), heads: config.headCountKV, positions: positions)
      let attended = attend(layer, q, k, linear(h, p + "attn_v.weight"))
      x = builder.add(x, linear(attended, p + "attn_output.weight"))
      let f = builder.rmsNorm(x, weight: weight(p + "ffn_norm.weight"), epsilon: config.rmsEpsilon)
      let gate = builder.silu(linear(f, p + "ffn_gate.weight"))
      x = builder.add(x, linear(builder.mul(gate, linear(f, p + "ffn_up.weight")), p + "ffn_down.weight"))
    }
    let last = builder.slice(x, start: [count - 1, 0], end: [count, config.embeddingLength])
    let normalized = builder.rmsNorm(last, weight: weight("output_norm.weight"), epsilon: config.rmsEpsilon)
    return linear(normalized, tiedEmbeddings ? "token_embd.weight" : "output.weight", name: "logits")
  }

  private func weight(_ name: String) -> ValueID { weights[name]! }

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

  /// `x @ Wᵀ` for `x: [T, K]` and a weight stored `[N, K]` as GGUF does. Written as a matmul
  /// with `transpose(dequantize(W))`, the pattern backends recognise to multiply by the quantized
  /// rows directly (the CPU's quantized matvec reads the blocks and never materialises W).
  private func linear(_ x: ValueID, _ name: String, name resultName: String? = nil) -> ValueID {
    builder.matmul(x, builder.transpose(float(name)), name: resultName)
  }

  /// RoPE (GGUF llama "normal" mode: adjacent pairs) on `[T, heads * D]`, viewed as `[T, heads, D]`.
  private func rope(_ x: ValueID, heads: Int, positions: ValueID) -> ValueID {
    let count = builder.type(of: x).shape.dims[0]
    let rotated = builder.rope(
      builder.reshape(x, to: [count, heads, config.headDimension]), positions: positions, theta: config.ropeFreqBase)
    return builder.reshape(rotated, to: [count, heads * config.headDimension])
  }

  /// Grouped-query attention: query head `h` uses key/value head `h / (heads / kvHeads)`.
  /// `q: [T, H*D]`, `keys`/`values: [S, kvH*D]`, `mask: bool[T, S]`; returns `[T, H*D]`.
  func attention(_ q: ValueID, keys: ValueID, values: ValueID, mask: ValueID) -> ValueID {
    let t = builder.type(of: q).shape.dims[0]
    let scores = scaledScores(q, keys: keys)
    let s = builder.type(of: keys).shape.dims[0]
    let masked = builder.select(mask, scores, builder.constant(-Double.infinity))
    let weights = builder.reshape(builder.softmax(masked, axis: -1), to: [config.headCountKV, queryRows(t), s])
    return mergeHeads(builder.matmul(weights, valuesByHead(values)), tokens: t)
  }

  /// Query rows per key/value head for `tokens` tokens.
  private func queryRows(_ tokens: Int) -> Int { config.headCount / config.headCountKV * tokens }

  /// `q · keysᵀ / √D` per head: `q: [T, H*D]`, `keys: [S, kvH*D]`; returns `[kvH, group, T, S]`.
  private func scaledScores(_ q: ValueID, keys: ValueID) -> ValueID {
    let (kvHeads, d) = (config.headCountKV, config.headDimension)
    let group = config.headCount / kvHeads
    let t = builder.type(of: q).shape.dims[0], s = builder.type(of: keys).shape.dims[0]
    let queries = builder.reshape(
      builder.transpose(builder.reshape(q, to: [t, kvHeads, group, d]), perm: [1, 2, 0, 3]),
      to: [kvHeads, group * t, d])
    let keysT = builder.transpose(builder.reshape(keys, to: [s, kvHeads, d]), perm: [1, 2, 0])
    let scale = builder.constant(1 / Double(d).squareRoot())
    return builder.reshape(builder.mul(builder.matmul(queries, keysT), scale), to: [kvHeads, group, t, s])
  }

  /// `values: [S, kvH*D]` as `[kvH, S, D]`.
  private func valuesByHead(_ values: ValueID) -> ValueID {
    let s = builder.type(of: values).shape.dims[0]
    return builder.transpose(
      builder.reshape(values, to: [s, config.headCountKV, config.headDimension]), perm: [1, 0, 2])
  }

  /// The per-head outputs `[kvH, group · T, D]` back as `[T, H*D]`.
  private func mergeHeads(_ out: ValueID, tokens t: Int) -> ValueID {
    let (heads, kvHeads, d) = (config.headCount, config.headCountKV, config.headDimension)
    let split = builder.reshape(out, to: [kvHeads, heads / kvHeads, t, d])
    return builder.reshape(builder.transpose(split, perm: [2, 0, 1, 3]), to: [t, heads * d])
  }
}
