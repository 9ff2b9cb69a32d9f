import Tessera

/// One decode step's grouped-query attention: the new key and value written into caches of
/// `context` rows at `position`, scores `q · Kᵀ / √d` over every cache row, masked to the rows at
/// or before the position, softmax, then `· V`. `reshaped` writes it as the Llama graphs do
/// (the scores reshaped to `[kvHeads, group, 1, context]` for the mask and the weights back to
/// `[kvHeads, group, context]`), otherwise without those reshapes. Arguments: `q`
/// `[1, heads · d]`, the caches `[context, kvHeads · d]`, the new key and value
/// `[1, kvHeads · d]`, `position` `i32[1]`, `rows` `i32[1, context]` (`0..<context`). Returns the
/// attention output and the two updated caches.
public enum DecodeAttentionGraph {
  /// The graph's text.
  public static func text(context: Int, heads: Int = 6, kvHeads: Int = 2, dim: Int = 8, reshaped: Bool = true)
    -> String
  {
    let group = heads / kvHeads, width = heads * dim, kvWidth = kvHeads * dim
    let scores = "f32[\(kvHeads),\(group),\(context)]"
    let masked = reshaped ? "f32[\(kvHeads),\(group),1,\(context)]" : scores
    let maskedShape = reshaped ? "[\(kvHeads), \(group), 1, \(context)]" : ""
    let toMask = reshaped ? "%s4 = reshape %ss {shape = \(maskedShape)} : \(masked)" : "%s4 = mul %ss, %one : \(scores)"
    let fromSoftmax =
      reshaped
      ? "%p3 = reshape %p {shape = [\(kvHeads), \(group), \(context)]} : \(scores)" : "%p3 = mul %p, %one : \(scores)"
    return """
      func @attention(%q: f32[1,\(width)], %kc: f32[\(context),\(kvWidth)], %vc: f32[\(context),\(kvWidth)], \
      %knew: f32[1,\(kvWidth)], %vnew: f32[1,\(kvWidth)], %pos: i32[1], %rows: i32[1,\(context)]) \
      -> (f32[1,\(width)], f32[\(context),\(kvWidth)], f32[\(context),\(kvWidth)]) {
        %ck = update_slice %kc, %knew, %pos : f32[\(context),\(kvWidth)]
        %cv = update_slice %vc, %vnew, %pos : f32[\(context),\(kvWidth)]
        %cur = reshape %pos {shape = [1, 1]} : i32[1,1]
        %vis = compare %rows, %cur {kind = le} : bool[1,\(context)]
        %qs = reshape %q {shape = [\(kvHeads), \(group), \(dim)]} : f32[\(kvHeads),\(group),\(dim)]
        %k3 = reshape %ck {shape = [\(context), \(kvHeads), \(dim)]} : f32[\(context),\(kvHeads),\(dim)]
        %kt = transpose %k3 {perm = [1, 2, 0]} : f32[\(kvHeads),\(dim),\(context)]
        %s = matmul %qs, %kt : \(scores)
        %scale = constant \(1 / Double(dim).squareRoot()) : f32[]
        %one = constant 1.0 : f32[]
        %ss = mul %s, %scale : \(scores)
        \(toMask)
        %hidden = constant -inf : f32[]
        %m = select %vis, %s4, %hidden : \(masked)
        %p = softmax %m {axis = -1} : \(masked)
        \(fromSoftmax)
        %v3 = reshape %cv {shape = [\(context), \(kvHeads), \(dim)]} : f32[\(context),\(kvHeads),\(dim)]
        %vt = transpose %v3 {perm = [1, 0, 2]} : f32[\(kvHeads),\(context),\(dim)]
        %o = matmul %p3, %vt : f32[\(kvHeads),\(group),\(dim)]
        %out = reshape %o {shape = [1, \(width)]} : f32[1,\(width)]
        return %out, %ck, %cv
      }
      """
  }

  /// Seeded inputs: activations and caches in `[-1, 1)`, the position `position`, rows
  /// `0..<context`.
  public static func inputs(for graph: Graph, position: Int, seed: UInt64) -> [Tensor] {
    var generator = SeededRandom(seed: seed)
    let types = graph.argumentTypes
    let context = types[1].shape.dims[0]
    return types.prefix(5).map { Tensor.random($0, using: &generator) } + [
      Tensor([Double(position)], shape: [1], dtype: .i32),
      Tensor((0..<context).map(Double.init), shape: [1, context], dtype: .i32),
    ]
  }
}

extension DecodeAttentionGraph {
  /// The attention over caches of 29, 37 and 11 rows (3 and 2 query heads per key head; 37 keys
  /// and 16 outputs a row: a partial last round of lanes, an odd count; heads of 64 as SmolLM2's,
  /// four vectors of 16 a row where a CPU driver's kernel takes vectors), written both ways, at
  /// the first, a middle and the last position, on `device` against the reference evaluator (atol
  /// 1e-5, rtol 1e-4); each check named by its case.
  public static func parity(on device: any Device) throws -> [(String, ParityCheck)] {
    var checks: [(String, ParityCheck)] = []
    for (context, heads, kvHeads, dim) in [(29, 6, 2, 8), (37, 4, 2, 16), (11, 6, 2, 64)] {
      for reshaped in [true, false] {
        let graph = try TestSupport.parseOne(
          text(context: context, heads: heads, kvHeads: kvHeads, dim: dim, reshaped: reshaped))
        for position in [0, context / 2, context - 1] {
          let inputs = Self.inputs(for: graph, position: position, seed: UInt64(context + position))
          let results = try TestSupport.parity(device, graph, inputs, atol: { _ in 1e-5 }, rtol: { _ in 1e-4 })
          let name = "context \(context), \(heads)/\(kvHeads) heads, reshaped \(reshaped), position \(position)"
          checks += results.map { (name, $0) }
        }
      }
    }
    return checks
  }
}

extension TestSupport {
  /// A decode step's feed-forward gate as the Llama graphs write it: `silu(x · gateᵀ) · (x · upᵀ)`
  /// over q4_1 weights read in place, x `[1, 64]`, 96 outputs.
  public static let quantizedFeedForward = """
    func @f(%x: f32[1,64], %wg: q4_1[96,64], %wu: q4_1[96,64]) -> f32[1,96] {
      %dg = dequantize %wg : f32[96,64]
      %tg = transpose %dg {perm = [1, 0]} : f32[64,96]
      %g = matmul %x, %tg : f32[1,96]
      %du = dequantize %wu : f32[96,64]
      %tu = transpose %du {perm = [1, 0]} : f32[64,96]
      %u = matmul %x, %tu : f32[1,96]
      %s = silu %g : f32[1,96]
      %y = mul %s, %u : f32[1,96]
      return %y
    }
    """

  /// A product reading an RMS norm of its x, as attention's q, k and v read theirs: `rms_norm(x,
  /// g) · wᵀ`, x `[1, 64]`, a q4_1 `w` of 9 outputs read in place.
  public static let normedQuantizedProduct = """
    func @f(%x: f32[1,64], %g: f32[64], %w: q4_1[9,64]) -> f32[1,9] {
      %n = rms_norm %x, %g {axis = -1, epsilon = 1.0e-05} : f32[1,64]
      %d = dequantize %w : f32[9,64]
      %t = transpose %d {perm = [1, 0]} : f32[64,9]
      %y = matmul %n, %t : f32[1,9]
      return %y
    }
    """
}
