import Foundation
import TesseraTestSupport

/// An independent forward pass of ``TinyLlama`` in plain Double loops, position by position,
/// written from the Llama description (not from the graph builder): the test's oracle.
struct LlamaOracle {
  let model: TinyLlama

  /// Logits after the last of `tokens`.
  func logits(_ tokens: [Int]) -> [Double] {
    let e = model.embedding, d = e / model.heads, group = model.heads / model.kvHeads, kvWidth = model.kvHeads * d
    let w = model.weights
    var xs = tokens.map { Array(w["token_embd.weight"]![($0 * e)..<(($0 + 1) * e)]) }
    for layer in 0..<model.layers {
      let p = "blk.\(layer)."
      var keys: [[Double]] = [], values: [[Double]] = []
      var queries: [[Double]] = []
      for (position, x) in xs.enumerated() {
        let h = rmsNorm(x, w[p + "attn_norm.weight"]!)
        queries.append(rope(matvec(w[p + "attn_q.weight"]!, h, rows: e), heads: model.heads, position: position))
        keys.append(rope(matvec(w[p + "attn_k.weight"]!, h, rows: kvWidth), heads: model.kvHeads, position: position))
        values.append(matvec(w[p + "attn_v.weight"]!, h, rows: kvWidth))
      }
      for t in xs.indices {
        var attended = [Double](repeating: 0, count: e)
        for head in 0..<model.heads {
          let kvHead = head / group
          let q = queries[t][(head * d)..<((head + 1) * d)]
          let scores = (0...t).map { s in
            zip(q, keys[s][(kvHead * d)..<((kvHead + 1) * d)]).map { $0 * $1 }.reduce(0, +) / Double(d).squareRoot()
          }
          let peak = scores.max()!
          let exps = scores.map { Foundation.exp($0 - peak) }
          let total = exps.reduce(0, +)
          for s in 0...t {
            for i in 0..<d { attended[head * d + i] += exps[s] / total * values[s][kvHead * d + i] }
          }
        }
        xs[t] = zip(xs[t], matvec(w[p + "attn_output.weight"]!, attended, rows: e)).map { $0 + $1 }
        let f = rmsNorm(xs[t], w[p + "ffn_norm.weight"]!)
        let gate = matvec(w[p + "ffn_gate.weight"]!, f, rows: model.feedForward).map { $0 / (1 + Foundation.exp(-$0)) }
        let up = matvec(w[p + "ffn_up.weight"]!, f, rows: model.feedForward)
        let down = matvec(w[p + "ffn_down.weight"]!, zip(gate, up).map { $0 * $1 }, rows: e)
        xs[t] = zip(xs[t], down).map { $0 + $1 }
      }
    }
    return matvec(w["output.weight"]!, rmsNorm(xs.last!, w["output_norm.weight"]!), rows: model.vocabulary)
  }

  private func matvec(_ matrix: [Double], _ x: [Double], rows: Int) -> [Double] {
    (0..<rows).map { row in (0..<x.count).reduce(0.0) { $0 + matrix[row * x.count + $1] * x[$1] } }
  }

  private func rmsNorm(_ x: [Double], _ weight: [Double]) -> [Double] {
    let scale = 1 / (x.map { $0 * $0 }.reduce(0, +) / Double(x.count) + model.epsilon).squareRoot()
    return zip(x, weight).map { $0 * scale * $1 }
  }

  /// Rotates adjacent pairs `(2i, 2i+1)` of each head by `position * base^(-2i/d)`.
  private func rope(_ x: [Double], heads: Int, position: Int) -> [Double] {
    let d = x.count / heads
    var out = x
    for head in 0..<heads {
      for i in 0..<(d / 2) {
        let angle = Double(position) * Foundation.pow(model.ropeBase, -2 * Double(i) / Double(d))
        let (a, b) = (x[head * d + 2 * i], x[head * d + 2 * i + 1])
        out[head * d + 2 * i] = a * Foundation.cos(angle) - b * Foundation.sin(angle)
        out[head * d + 2 * i + 1] = a * Foundation.sin(angle) + b * Foundation.cos(angle)
      }
    }
    return out
  }
}
