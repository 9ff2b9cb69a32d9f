import TesseraIR

/// Builds the forward pass of a Llama-family model (``ModelArchitecture``) as IR graphs, from the hyper-parameters and the weights' types.
///
/// Both graphs take the weights first (``LlamaWeights`` order), then their tokens, then the KV
/// cache: each layer's keys and values, `f32[context, kvWidth]`. They write the new keys and
/// values into the cache with `update_slice` (in place: the cache arguments are read by nothing
/// else) and return the logits of the last position (`f32[1, vocab]`) first, then the updated
/// cache, which a caller holding the cache on the device gets back as the same device tensors.
///
/// - ``prefill(config:weights:tokenCount:context:)``: `tokens: i32[T]` at positions `0..<T`,
///   written at cache rows `0..<T`; attention over the new keys with a causal mask.
/// - ``decode(config:weights:context:greedy:)``: one token at a run-time position, written at
///   that row; attention over the whole cache masked by `row <= position` (built from the
///   position input, so one compiled graph serves every step). Sliding-window layers also mask
///   the rows before `position - window + 1`. The greedy form returns the
///   chosen token (`argmax` of the logits, `i32[1]`) instead of the logits.
public enum LlamaGraph {
  /// The prefill graph for a prompt of `tokenCount` tokens into a cache of `context` rows.
  public static func prefill(config: LlamaConfig, weights: LlamaWeights, tokenCount: Int, context: Int) throws
    -> Graph
  {
    let b = LlamaGraphBuilder(name: "llama_prefill_\(tokenCount)", config: config, weights: weights)
    let tokens = b.builder.argument("tokens", .i32, [tokenCount])
    let caches = cacheArguments(b, context: context)
    let positions = b.builder.constant(Tensor((0..<tokenCount).map(Double.init), shape: [tokenCount], dtype: .i32))
    let start = b.builder.constant(Tensor([0], shape: [1], dtype: .i32), name: "first_row")
    let causal = b.builder.constant(promptMask(tokenCount, window: nil), name: "causal_mask")
    let windowed = b.config.slidingWindow.map {
      b.builder.constant(promptMask(tokenCount, window: $0), name: "window_mask")
    }
    var updated: [ValueID] = []
    let logits = b.forward(tokens: tokens, positions: positions) { layer, q, keys, values in
      updated += [
        b.builder.updateSlice(caches[2 * layer], keys, start: start),
        b.builder.updateSlice(caches[2 * layer + 1], values, start: start),
      ]
      let mask = b.config.isSlidingWindowLayer(layer) ? windowed ?? causal : causal
      return b.attention(q, keys: keys, values: values, masks: [mask])
    }
    return try b.builder.finish(returning: [logits] + updated)
  }

  /// The decode graph: one token at `position`, against a KV cache of `context` rows; with
  /// `greedy`, it returns the most likely next token (the first on ties) instead of the logits.
  public static func decode(config: LlamaConfig, weights: LlamaWeights, context: Int, greedy: Bool = false) throws
    -> Graph
  {
    let name = "llama_decode\(greedy ? "_greedy" : "")_\(context)"
    let b = LlamaGraphBuilder(name: name, config: config, weights: weights)
    let token = b.builder.argument("token", .i32, [1])
    let position = b.builder.argument("position", .i32, [1])
    let caches = cacheArguments(b, context: context)
    let rows = b.builder.constant(
      Tensor((0..<context).map(Double.init), shape: [1, context], dtype: .i32), name: "rows")
    let current = b.builder.reshape(position, to: [1, 1])
    let visible = b.builder.compare(.le, rows, current, name: "visible")
    let inWindow = b.config.slidingWindow.map {
      b.builder.compare(.gt, rows, b.builder.sub(current, b.builder.constant(Double($0), .i32)), name: "in_window")
    }
    var updated: [ValueID] = []
    let logits = b.forward(tokens: token, positions: position) { layer, q, keys, values in
      let cachedKeys = b.builder.updateSlice(caches[2 * layer], keys, start: position)
      let cachedValues = b.builder.updateSlice(caches[2 * layer + 1], values, start: position)
      updated += [cachedKeys, cachedValues]
      let masks = b.config.isSlidingWindowLayer(layer) ? [visible] + (inWindow.map { [$0] } ?? []) : [visible]
      return b.attention(q, keys: cachedKeys, values: cachedValues, masks: masks)
    }
    let first = greedy ? b.builder.argmax(logits, axis: 1, name: "next_token") : logits
    return try b.builder.finish(returning: [first] + updated)
  }

  /// `bool[T, T]`: query `t` sees key `s` when `s <= t` (and `t - s < window` with a window).
  private static func promptMask(_ count: Int, window: Int?) -> Tensor {
    let visible = (0..<count * count).map { index in
      let (t, s) = (index / count, index % count)
      return s <= t && t - s < (window ?? count) ? 1.0 : 0
    }
    return Tensor(visible, shape: [count, count], dtype: .bool)
  }

  /// The cache arguments `cache_k_L`, `cache_v_L` of every layer, `f32[context, kvWidth]`.
  private static func cacheArguments(_ b: LlamaGraphBuilder, context: Int) -> [ValueID] {
    (0..<b.config.blockCount).flatMap { layer in
      ["k", "v"].map { b.builder.argument("cache_\($0)_\(layer)", .f32, [context, b.config.kvWidth]) }
    }
  }
}
