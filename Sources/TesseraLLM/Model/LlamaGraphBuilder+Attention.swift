import Foundation
import TesseraIR

extension LlamaGraphBuilder {
  /// Grouped-query attention: query head `h` uses key/value head `h / (heads / kvHeads)`.
  /// `q: [T, H*D]`, `keys`/`values: [S, kvH*D]`; a key is seen where every one of `masks`
  /// (`bool[T, S]` or broadcastable) is true. Scores are soft-capped where the file says so.
  /// Returns `[T, H*D]`.
  func attention(_ q: ValueID, keys: ValueID, values: ValueID, masks: [ValueID]) -> ValueID {
    let t = builder.type(of: q).shape.dims[0]
    var scores = scaledScores(q, keys: keys)
    if let cap = config.attentionSoftcap { scores = softcap(scores, cap) }
    let s = builder.type(of: keys).shape.dims[0]
    let hidden = builder.constant(-Double.infinity)
    let masked = masks.reduce(scores) { builder.select($1, $0, hidden) }
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
