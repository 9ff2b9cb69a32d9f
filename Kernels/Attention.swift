import TesseraCompiler
import TesseraIR

/// Shape of the attention kernels: one workgroup of `workgroupSize` lanes per (query, head), with
/// the scores of up to `maxContext` cache positions held in workgroup-shared memory.
public struct AttentionConfig: Hashable, Sendable {
  /// Lanes per (query, head); a power of two.
  public var workgroupSize: Int
  /// The longest context (cache positions attended) the kernels handle; longer contexts would
  /// access shared memory out of bounds and must not be launched.
  public var maxContext: Int

  /// 64 lanes and 2048 positions (8 KiB of scores) by default.
  public init(workgroupSize: Int = 64, maxContext: Int = 2048) {
    self.workgroupSize = workgroupSize
    self.maxContext = maxContext
  }
}

extension TesseraKernels {
  /// Attention of one query step against a KV cache (decode), with grouped-query heads.
  ///
  /// - Buffers: `q` f32 [heads][head_dim] read, `k_cache` and `v_cache` f32
  ///   [capacity][kv_heads][head_dim] read (only the first `kv_len` positions are read),
  ///   `out` f32 [heads][head_dim] write.
  /// - Scalars: `heads`, `kv_heads` (dividing `heads`), `head_dim`, `kv_len` (i32; 1 to
  ///   `config.maxContext`), `scale` (f32).
  /// - Launch: global `[config.workgroupSize * heads]`, workgroup `[config.workgroupSize]`.
  /// - Semantics: query head `h` uses kv head `h / (heads / kv_heads)`;
  ///   `out[h] = softmax_t(scale * q[h]·k[t]) @ v[t]` over `t < kv_len`, in f32.
  public static func attentionDecode(config: AttentionConfig = AttentionConfig()) throws(KIRError) -> Kernel {
    let name = "attention_decode"
    try checkPowerOfTwo(config.workgroupSize, kernel: name)
    let builder = KernelBuilder(name: name, comment: "out[h] = softmax(scale * q[h] k^T) v, one query step")
    let (row, heads) = AttentionRow.declare(builder, config)
    let kvLength = builder.scalar("kv_len"), scale = builder.scalar("scale", .f32)
    builder.launch(
      global: [.product(.constant(config.workgroupSize), .scalar("heads"))], workgroup: [config.workgroupSize])
    let head = builder.groupID(0)
    row.emit(head: head, query: head, heads: heads, count: kvLength, scale: scale)
    return try builder.finish()
  }

  /// Causal attention of a prompt of `seq` queries whose keys and values are already written to
  /// the cache after `past` earlier positions (prefill).
  ///
  /// - Buffers: `q` f32 [seq][heads][head_dim] read, `k_cache` and `v_cache` f32
  ///   [capacity][kv_heads][head_dim] read, `out` f32 [seq][heads][head_dim] write.
  /// - Scalars: `heads`, `kv_heads`, `head_dim`, `seq`, `past` (i32; `past + seq` at most
  ///   `config.maxContext`), `scale` (f32).
  /// - Launch: global `[config.workgroupSize * heads, seq]`, workgroup `[config.workgroupSize, 1]`.
  /// - Semantics: query `i` attends to cache positions `t <= past + i`, otherwise as
  ///   ``attentionDecode(config:)``.
  public static func attentionPrefill(config: AttentionConfig = AttentionConfig()) throws(KIRError) -> Kernel {
    let name = "attention_prefill"
    try checkPowerOfTwo(config.workgroupSize, kernel: name)
    let builder = KernelBuilder(name: name, comment: "causal attention of seq queries after past cached positions")
    let (row, heads) = AttentionRow.declare(builder, config)
    _ = builder.scalar("seq")
    let past = builder.scalar("past"), scale = builder.scalar("scale", .f32)
    builder.launch(
      global: [.product(.constant(config.workgroupSize), .scalar("heads")), .scalar("seq")],
      workgroup: [config.workgroupSize, 1])
    let head = builder.groupID(0), position = builder.groupID(1)
    row.emit(
      head: head, query: position * heads + head, heads: heads, count: past + position + 1.0, scale: scale)
    return try builder.finish()
  }
}

/// The body shared by the attention kernels: one query row of one head against the first
/// `count` cache positions, by one workgroup.
private struct AttentionRow {
  let builder: KernelBuilder
  let config: AttentionConfig
  let q: KBufferRef
  let keys: KBufferRef
  let values: KBufferRef
  let out: KBufferRef
  let kvHeads: KExpr
  let headDim: KExpr

  /// Declares the buffers `q`, `k_cache`, `v_cache`, `out` and the scalars `heads`, `kv_heads`,
  /// `head_dim`; returns the row and `heads`.
  static func declare(_ builder: KernelBuilder, _ config: AttentionConfig) -> (AttentionRow, heads: KExpr) {
    let q = builder.buffer("q", .f32, .read)
    let keys = builder.buffer("k_cache", .f32, .read), values = builder.buffer("v_cache", .f32, .read)
    let out = builder.buffer("out", .f32, .write)
    let heads = builder.scalar("heads")
    let row = AttentionRow(
      builder: builder, config: config, q: q, keys: keys, values: values, out: out,
      kvHeads: builder.scalar("kv_heads"), headDim: builder.scalar("head_dim"))
    return (row, heads)
  }

  /// Computes `out[query]` for query row `query` (an index into `q`'s rows of `head_dim`) of head
  /// `head`: scores into shared memory, a max tree, an exp-sum tree, then `p @ v`.
  func emit(head: KExpr, query: KExpr, heads: KExpr, count: KExpr, scale: KExpr) {
    let width = config.workgroupSize
    let lane = builder.localID(0)
    let scores = builder.shared("scores", .f32, count: config.maxContext)
    let tree = WorkgroupTree(builder, name: "partial", dtypes: [.f32], width: width, lane: lane)
    let zero = builder.i32(0)
    let kvBase = head / (heads / kvHeads) * headDim, kvStride = kvHeads * headDim
    let queryBase = query * headDim
    let localPeak = builder.fold(builder.f32(-.infinity), from: lane, to: count, step: width) { peak, t in
      let keyBase = t * kvStride + kvBase
      let dot = builder.fold(builder.f32(0), from: zero, to: headDim, step: 1) { total, d in
        total + q[queryBase + d] * keys[keyBase + d]
      }
      let score = dot * scale
      scores[t] = score
      return builder.max(peak, score)
    }
    let peak = tree.max(localPeak)
    let localTotal = builder.fold(builder.f32(0), from: lane, to: count, step: width) { total, t in
      let weight = builder.exp(scores[t] - peak)
      scores[t] = weight
      return total + weight
    }
    let normalizer = builder.unary(.reciprocal, tree.sum(localTotal))
    builder.loop(from: lane, to: headDim, step: width) { d in
      let sum = builder.fold(builder.f32(0), from: zero, to: count, step: 1) { total, t in
        total + scores[t] * values[t * kvStride + kvBase + d]
      }
      out[queryBase + d] = sum * normalizer
    }
  }
}
