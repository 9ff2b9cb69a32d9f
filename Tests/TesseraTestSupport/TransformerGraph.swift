import Tessera

/// A stack of Llama-style transformer blocks (prefill over `sequence` tokens, f32 weights as
/// arguments) built with the IR builder: the compile-time benchmark's workload and an end-to-end
/// test of the compiler, about 29 ops per layer.
public enum TransformerGraph {
  /// Builds the graph; arguments are `x`, `positions`, `mask`, then each layer's weights.
  public static func make(layers: Int, sequence: Int = 16, width: Int = 64, heads: Int = 4, hidden: Int = 128) throws
    -> Graph
  {
    let b = GraphBuilder(name: "transformer")
    let headDim = width / heads
    var x = b.argument("x", .f32, [sequence, width])
    let positions = b.argument("positions", .i32, [sequence])
    let mask = b.argument("mask", .f32, [sequence, sequence])
    for layer in 0..<layers {
      func weight(_ name: String, _ shape: Shape) -> ValueID { b.argument("l\(layer)_\(name)", .f32, shape) }
      let normed = b.rmsNorm(x, weight: weight("attn_norm", [width]), epsilon: 1e-5)
      func split(_ projection: ValueID) -> ValueID { b.reshape(projection, to: [sequence, heads, headDim]) }
      let q = b.rope(split(b.matmul(normed, weight("wq", [width, width]))), positions: positions)
      let k = b.rope(split(b.matmul(normed, weight("wk", [width, width]))), positions: positions)
      let v = split(b.matmul(normed, weight("wv", [width, width])))
      let qh = b.transpose(q, perm: [1, 0, 2]), kh = b.transpose(k, perm: [1, 2, 0]),
        vh = b.transpose(v, perm: [1, 0, 2])
      let scores = b.add(b.mul(b.matmul(qh, kh), b.constant(1 / Double(headDim).squareRoot())), mask)
      let attended = b.matmul(b.softmax(scores), vh)
      let merged = b.reshape(b.transpose(attended, perm: [1, 0, 2]), to: [sequence, width])
      x = b.add(x, b.matmul(merged, weight("wo", [width, width])))
      let normed2 = b.rmsNorm(x, weight: weight("ffn_norm", [width]), epsilon: 1e-5)
      let gate = b.silu(b.matmul(normed2, weight("w_gate", [width, hidden])))
      let up = b.matmul(normed2, weight("w_up", [width, hidden]))
      x = b.add(x, b.matmul(b.mul(gate, up), weight("w_down", [hidden, width])))
    }
    return try b.finish(returning: [x])
  }

  /// Seeded inputs for a graph from ``make(layers:sequence:width:heads:hidden:)``: random
  /// activations and weights in `[-1, 1)`, positions `0..<sequence` and a causal mask (0 on and
  /// below the diagonal, -inf above).
  public static func inputs(for graph: Graph, sequence: Int, seed: UInt64) -> [Tensor] {
    var generator = SeededRandom(seed: seed)
    var inputs = graph.argumentTypes.map { Tensor.random($0, integerBound: sequence, using: &generator) }
    inputs[1] = Tensor((0..<sequence).map(Double.init), shape: [sequence], dtype: .i32)
    let mask = (0..<(sequence * sequence)).map { $0 % sequence <= $0 / sequence ? 0 : -Double.infinity }
    inputs[2] = Tensor(mask, shape: [sequence, sequence])
    return inputs
  }
}
