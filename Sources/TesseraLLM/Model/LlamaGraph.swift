import TesseraIR

/// Builds the Llama forward pass as IR graphs, from the hyper-parameters and the weights' types.
///
/// Both graphs take the weights first (``LlamaWeights`` order) and return the logits of the last
/// position (`f32[1, vocab]`) first, then each layer's keys and values for the tokens they ran.
///
/// - ``prefill(config:weights:tokenCount:)``: `tokens: i32[T]` at positions `0..<T`, causal mask
///   as a constant; returns keys and values `f32[T, kvWidth]` per layer.
/// - ``decode(config:weights:context:)``: one token at a run-time position, with the KV cache as
///   inputs (`f32[C, kvWidth]` per layer) and each layer's new key and value row as outputs
///   (`f32[1, kvWidth]`), which the caller writes into its cache at the position. Inside, the
///   cache is only read: attention scores against it and against the new key are concatenated
///   and masked by `cache row < position` (built from the position input, so one compiled graph
///   serves every step). This formulation needs no new IR op (no dynamic update-slice), every
///   target that runs the core ops runs it, no pass copies the cache, and only the new rows
///   leave the device.
public enum LlamaGraph {
  /// The prefill graph for a prompt of `tokenCount` tokens.
  public static func prefill(config: LlamaConfig, weights: LlamaWeights, tokenCount: Int) throws -> Graph {
    let b = LlamaGraphBuilder(name: "llama_prefill_\(tokenCount)", config: config, weights: weights)
    let tokens = b.builder.argument("tokens", .i32, [tokenCount])
    let positions = b.builder.constant(Tensor((0..<tokenCount).map(Double.init), shape: [tokenCount], dtype: .i32))
    let causal = (0..<tokenCount * tokenCount).map { Double($0 % tokenCount <= $0 / tokenCount ? 1 : 0) }
    let mask = b.builder.constant(Tensor(causal, shape: [tokenCount, tokenCount], dtype: .bool), name: "causal_mask")
    var cache: [ValueID] = []
    let logits = b.forward(tokens: tokens, positions: positions) { _, q, keys, values in
      cache += [keys, values]
      return b.attention(q, keys: keys, values: values, mask: mask)
    }
    return try b.builder.finish(returning: [logits] + cache)
  }

  /// The decode graph: one token at `position`, against a KV cache of `context` rows.
  public static func decode(config: LlamaConfig, weights: LlamaWeights, context: Int) throws -> Graph {
    let b = LlamaGraphBuilder(name: "llama_decode_\(context)", config: config, weights: weights)
    let token = b.builder.argument("token", .i32, [1])
    let position = b.builder.argument("position", .i32, [1])
    let caches = (0..<config.blockCount).flatMap { layer in
      ["k", "v"].map { b.builder.argument("cache_\($0)_\(layer)", .f32, [context, config.kvWidth]) }
    }
    // Cache rows before the position are written; the last score is the new key's (row -1).
    let rows = b.builder.constant(
      Tensor((0..<context).map(Double.init) + [-1], shape: [1, context + 1], dtype: .i32), name: "rows")
    let visible = b.builder.compare(.lt, rows, b.builder.reshape(position, to: [1, 1]), name: "visible")
    var newRows: [ValueID] = []
    let logits = b.forward(tokens: token, positions: position) { layer, q, keys, values in
      newRows += [keys, values]
      return b.cachedAttention(
        q, newKeys: keys, newValues: values, cachedKeys: caches[2 * layer], cachedValues: caches[2 * layer + 1],
        visible: visible)
    }
    return try b.builder.finish(returning: [logits] + newRows)
  }
}
