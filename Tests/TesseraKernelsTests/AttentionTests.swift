import TesseraCompiler
import TesseraIR
import TesseraKernels
import Testing

@Suite("Library kernels: attention")
struct AttentionTests {
  static let configs = [AttentionConfig(workgroupSize: 8), AttentionConfig(workgroupSize: 64, maxContext: 1024)]

  /// `softmax(scale * q k^T [masked]) v` per kv head as a graph of core ops. `q` is
  /// `[kvHeads, group, rows, headDim]`, `keys` and `values` `[length, kvHeads, headDim]`;
  /// `mask` (bool `[rows, length]`) selects the attended positions.
  private static func attention(
    _ g: GraphBuilder, q: ValueID, keys: ValueID, values: ValueID, mask: ValueID?, scale: Double
  ) -> ValueID {
    let kvHeads = g.type(of: keys).shape.dims[1]
    let length = g.type(of: keys).shape.dims[0], headDim = g.type(of: keys).shape.dims[2]
    let kT = g.reshape(g.transpose(keys, perm: [1, 2, 0]), to: [kvHeads, 1, headDim, length])
    var scores = g.mul(g.matmul(q, kT), g.constant(scale))
    if let mask { scores = g.select(mask, scores, g.constant(-.infinity)) }
    let v = g.reshape(g.transpose(values, perm: [1, 0, 2]), to: [kvHeads, 1, length, headDim])
    return g.matmul(g.softmax(scores), v)
  }

  /// A cache of `capacity` positions; only the first `length` are attended.
  private static func cache(_ capacity: Int, _ kvHeads: Int, _ headDim: Int, seed: UInt64) -> Tensor {
    KernelCheck.random(.f32, [capacity, kvHeads, headDim], seed: seed)
  }

  /// (heads, kv_heads, head_dim, kv_len).
  @Test(
    "decode: one query against the first kv_len cache positions, grouped heads",
    arguments: [(1, 1, 1, 1), (4, 2, 8, 7), (4, 1, 16, 33), (2, 2, 4, 1000), (6, 3, 7, 33)], configs)
  func decode(shape: (Int, Int, Int, Int), config: AttentionConfig) throws {
    let (heads, kvHeads, headDim, length) = shape
    let q = KernelCheck.random(.f32, [heads, headDim], seed: 51)
    let keys = Self.cache(length + 3, kvHeads, headDim, seed: 52)
    let values = Self.cache(length + 3, kvHeads, headDim, seed: 53)
    let scale = 1 / Double(headDim).squareRoot()
    let kernel = try TesseraKernels.attentionDecode(config: config)
    let out = try KernelCheck.run(
      kernel, [q, keys, values, KernelCheck.output(heads * headDim)],
      [
        "heads": Double(heads), "kv_heads": Double(kvHeads), "head_dim": Double(headDim), "kv_len": Double(length),
        "scale": scale,
      ], result: 3)
    let expected = try KernelCheck.reference([q, keys, values]) { g, v in
      let attended = [v[1], v[2]].map { g.slice($0, start: [0, 0, 0], end: [length, kvHeads, headDim]) }
      let grouped = g.reshape(v[0], to: [kvHeads, heads / kvHeads, 1, headDim])
      let result = Self.attention(g, q: grouped, keys: attended[0], values: attended[1], mask: nil, scale: scale)
      return g.reshape(result, to: [heads, headDim])
    }
    KernelCheck.expectClose(out, expected, atol: KernelCheck.sumTolerance(length), rtol: 1e-4)
  }

  /// (heads, kv_heads, head_dim, seq, past).
  @Test(
    "prefill: causal attention of seq queries after past cached positions",
    arguments: [(1, 1, 1, 1, 0), (4, 2, 8, 7, 3), (2, 1, 16, 33, 0), (2, 2, 4, 3, 997)], configs)
  func prefill(shape: (Int, Int, Int, Int, Int), config: AttentionConfig) throws {
    let (heads, kvHeads, headDim, seq, past) = shape
    let length = past + seq
    let q = KernelCheck.random(.f32, [seq, heads, headDim], seed: 54)
    let keys = Self.cache(length + 2, kvHeads, headDim, seed: 55)
    let values = Self.cache(length + 2, kvHeads, headDim, seed: 56)
    let mask = Tensor(
      (0..<(seq * length)).map { index in index % length <= past + index / length ? 1 : 0 }, shape: [seq, length],
      dtype: .bool)
    let scale = 1 / Double(headDim).squareRoot()
    let kernel = try TesseraKernels.attentionPrefill(config: config)
    let out = try KernelCheck.run(
      kernel, [q, keys, values, KernelCheck.output(seq * heads * headDim)],
      [
        "heads": Double(heads), "kv_heads": Double(kvHeads), "head_dim": Double(headDim), "seq": Double(seq),
        "past": Double(past), "scale": scale,
      ], result: 3)
    let expected = try KernelCheck.reference([q, keys, values, mask]) { g, v in
      let attended = [v[1], v[2]].map { g.slice($0, start: [0, 0, 0], end: [length, kvHeads, headDim]) }
      let grouped = g.reshape(g.transpose(v[0], perm: [1, 0, 2]), to: [kvHeads, heads / kvHeads, seq, headDim])
      let result = Self.attention(g, q: grouped, keys: attended[0], values: attended[1], mask: v[3], scale: scale)
      return g.transpose(g.reshape(result, to: [heads, seq, headDim]), perm: [1, 0, 2])
    }
    KernelCheck.expectClose(out, expected, atol: KernelCheck.sumTolerance(length), rtol: 1e-4)
  }
}
