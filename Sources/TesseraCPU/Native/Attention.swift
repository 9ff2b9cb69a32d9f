import Foundation

/// Scaled dot-product attention for one sequence, the LLM's hot path: for each head `h` and query
/// `i`, `out[i, h, :] = softmax(q[i, h, :] · K[:, g, :]ᵀ · scale over keys 0…limit(i)) · V[:, g, :]`
/// where `g = h / (heads / kvHeads)` (grouped-query attention) and `limit(i) = causalOffset + i`
/// (keys after it are masked; pass `keys - 1 - (queries - 1)`-style offsets for a KV cache, or
/// `Int.max / 2` for no mask). Layouts: q and out `[queries, heads, dim]`, k and v
/// `[keys, kvHeads, dim]`. Heads run in parallel.
public enum Attention {
  /// Computes attention into `out`.
  public static func run(
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
    queries: Int, keys: Int, heads: Int, kvHeads: Int, dim: Int, scale: Float, causalOffset: Int,
    pool: CPUThreadPool = .shared
  ) {
    precondition(heads % kvHeads == 0, "Attention: \(heads) heads over \(kvHeads) KV heads")
    let shared = AttentionOperands(q: q, k: k, v: v, out: out)
    let group = heads / kvHeads
    (queries * keys * heads * dim < 32 * 1024 ? CPUThreadPool.single : pool).forEachChunk(of: heads) { range in
      let scores = UnsafeMutablePointer<Float>.allocate(capacity: keys)
      defer { scores.deallocate() }
      for h in range {
        let g = h / group
        for i in 0..<queries {
          let query = shared.q + (i * heads + h) * dim
          let visible = Swift.min(keys, Swift.max(0, causalOffset + i + 1))
          var peak = -Float.infinity
          for t in 0..<visible {
            let key = shared.k + (t * kvHeads + g) * dim
            var dot: Float = 0
            for d in 0..<dim { dot = dot.addingProduct(query[d], key[d]) }
            scores[t] = dot * scale
            peak = Swift.max(peak, scores[t])
          }
          var total: Float = 0
          for t in 0..<visible {
            scores[t] = Foundation.exp(scores[t] - peak)
            total += scores[t]
          }
          let output = shared.out + (i * heads + h) * dim
          for d in 0..<dim { output[d] = 0 }
          guard visible > 0 else { continue }
          for t in 0..<visible {
            let weight = scores[t] / total, value = shared.v + (t * kvHeads + g) * dim
            for d in 0..<dim { output[d] = output[d].addingProduct(weight, value[d]) }
          }
        }
      }
    }
  }
}

/// Attention pointers shared with worker threads. `@unchecked Sendable`: q, k and v are only
/// read, and each thread writes the heads it owns.
struct AttentionOperands: @unchecked Sendable {
  let q: UnsafePointer<Float>
  let k: UnsafePointer<Float>
  let v: UnsafePointer<Float>
  let out: UnsafeMutablePointer<Float>
}
