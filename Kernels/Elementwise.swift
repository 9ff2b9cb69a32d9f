import TesseraCompiler
import TesseraIR

/// Workgroup size of the one-work-item-per-output-element kernels (rope, gatherRows, permute).
public struct ElementwiseConfig: Hashable, Sendable {
  /// Work-items per workgroup (along dimension 0).
  public var workgroupSize: Int

  /// 64 work-items by default.
  public init(workgroupSize: Int = 64) { self.workgroupSize = workgroupSize }
}

extension TesseraKernels {
  /// Rotary position embedding, matching the graph op `rope`.
  ///
  /// - Buffers: `x` f32 [tokens][heads][dim] read, `positions` i32 [seq] read, `y` f32
  ///   [tokens][heads][dim] write. Token `t` is at sequence position `positions[t % seq]`, which
  ///   covers x of shape `[seq, dim]` (heads = 1), `[seq, heads, dim]` and `[batch, seq, heads, dim]`.
  /// - Scalars: `tokens`, `heads`, `seq`, `dim` (i32), `theta` (f32).
  /// - Launch: global `[tokens * dim / 2]`, workgroup `[config.workgroupSize]`; one work-item per
  ///   token and pair, which computes the pair's angle (a `pow`, a `cos` and a `sin`) once and
  ///   rotates that pair in each of the token's heads.
  /// - Semantics: `dim` is even (the op's rule); pair `i` (elements `(2i, 2i+1)`, or
  ///   `(i, i + dim/2)` when `neox`) rotates by `position * theta^(-2i/dim)`. Angles are computed in
  ///   f32, so their error grows with the position (about `position * ln(theta) * 2^-24` radians).
  public static func rope(neox: Bool = false, config: ElementwiseConfig = ElementwiseConfig()) throws(KIRError)
    -> Kernel
  {
    let builder = KernelBuilder(
      name: neox ? "rope_neox" : "rope", comment: "rotary embedding, \(neox ? "halves" : "adjacent pairs")")
    let x = builder.buffer("x", .f32, .read), positions = builder.buffer("positions", .i32, .read)
    let y = builder.buffer("y", .f32, .write)
    let tokens = builder.scalar("tokens"), heads = builder.scalar("heads"), seq = builder.scalar("seq")
    let dim = builder.scalar("dim"), theta = builder.scalar("theta", .f32)
    builder.launch(
      global: [.product(.scalar("tokens"), .ceilDiv(.scalar("dim"), 2))], workgroup: [config.workgroupSize])
    let g = builder.globalID(0), half = dim / 2.0
    builder.if(g.lt(tokens * half)) {
      let token = g / half, pair = g % half
      let row = token * heads * dim
      let position = positions[token % seq].cast(to: KType.f32)
      let exponent = (pair * -2.0).cast(to: KType.f32) / dim.cast(to: KType.f32)
      let angle = position * theta.binary(.pow, exponent)
      let (cos, sin) = (builder.unary(.cos, angle), builder.unary(.sin, angle))
      let (first, second) = neox ? (pair, pair + half) : (pair * 2.0, pair * 2.0 + 1.0)
      builder.loop(from: builder.i32(0), to: heads) { head in
        let at = row + head * dim
        let (a, b) = (x[at + first], x[at + second])
        y[at + first] = a * cos + builder.f32(-1) * b * sin
        y[at + second] = b * cos + builder.f32(1) * a * sin
      }
    }
    return try builder.finish()
  }

  /// Embedding lookup: numpy `take(table, ids, axis=0)` widened to f32.
  ///
  /// - Buffers: `table` `table` dtype [rows][width] read (f32, f16, or q4_0/q4_1/q8_0 with `width`
  ///   a multiple of 32), `ids` i32 [count] read, `out` f32 [count][width] write.
  /// - Scalars (i32): `rows`, `width`, `count`.
  /// - Launch: global `[width, count]`, workgroup `[config.workgroupSize, 1]`.
  /// - Semantics: a negative id counts from the end (`id + rows`); an id still outside
  ///   `0..<rows` reads nothing and writes a row of NaN, so a bad token is visible downstream.
  public static func gatherRows(table dtype: DType, config: ElementwiseConfig = ElementwiseConfig()) throws(KIRError)
    -> Kernel
  {
    let name = "gather_rows_\(dtype)"
    try checkDType(dtype, [.f32, .f16, .q4_0, .q4_1, .q8_0], kernel: name, "table dtype")
    let builder = KernelBuilder(name: name, comment: "out[c] = table[ids[c]] (numpy take, axis 0)")
    let table = builder.buffer("table", dtype, .read), ids = builder.buffer("ids", .i32, .read)
    let out = builder.buffer("out", .f32, .write)
    let rows = builder.scalar("rows"), width = builder.scalar("width")
    _ = builder.scalar("count")
    builder.launch(global: [.scalar("width"), .scalar("count")], workgroup: [config.workgroupSize, 1])
    let j = builder.globalID(0), c = builder.globalID(1)
    builder.if(j.lt(width)) {
      let raw = ids[c]
      let id = builder.select(raw.lt(0), raw + rows, raw)
      let valid = id.ge(builder.i32(0)).and(id.lt(rows))
      out[c * width + j] = builder.guarded(valid, builder.f32(.nan)) { builder.loadF32(table, id * width + j) }
    }
    return try builder.finish()
  }

  /// Strided copy for transpose, broadcast and slice: `y[i] = x[offset + sum_a coord_a(i) * s_a]`
  /// where `coord(i)` is the C-order coordinate of output element `i` in dims `d0…`.
  ///
  /// - Buffers: `x` `dtype` read, `y` `dtype` [count] write.
  /// - Scalars (i32): `count` (output elements), `d0`…`d{rank-1}` (output dims), `s0`…`s{rank-1}`
  ///   (input strides in elements, 0 for broadcast axes), `offset` (input base offset).
  /// - Launch: global `[count]`, workgroup `[config.workgroupSize]`.
  public static func permute(rank: Int, dtype: DType = .f32, config: ElementwiseConfig = ElementwiseConfig())
    throws(KIRError) -> Kernel
  {
    let name = "permute\(rank)_\(dtype)"
    guard rank >= 0, !dtype.isQuantized else {
      throw .invalid(kernel: name, detail: "permute needs rank >= 0 and a plain dtype, found \(rank), \(dtype)")
    }
    let builder = KernelBuilder(name: name, comment: "strided copy of rank \(rank)")
    let x = builder.buffer("x", dtype, .read), y = builder.buffer("y", dtype, .write)
    let count = builder.scalar("count")
    let dims = (0..<rank).map { builder.scalar("d\($0)") }
    let strides = (0..<rank).map { builder.scalar("s\($0)") }
    let offset = builder.scalar("offset")
    builder.launch(global: [.scalar("count")], workgroup: [config.workgroupSize])
    let i = builder.globalID(0)
    builder.if(i.lt(count)) {
      var rest = i, source = offset
      for axis in (0..<rank).reversed() {
        source = source + rest % dims[axis] * strides[axis]
        rest = rest / dims[axis]
      }
      y[i] = x[source]
    }
    return try builder.finish()
  }
}
