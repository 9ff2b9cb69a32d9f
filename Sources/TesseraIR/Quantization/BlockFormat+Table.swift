/// The GGUF block formats Tessera reads, one row each, with the decode written as ggml defines
/// it (layouts from ggml's `ggml-common.h`; element order and rounding from its dequantizers).
/// Offsets are bytes from the block's start; `e` is the element inside the block.
extension BlockFormat {
  private static let e = BlockInt.element

  /// The nibble for element `e` of a 32-element block whose 16 code bytes start at `codes`: the
  /// low nibble of byte `e` for `e < 16`, the high nibble of byte `e - 16` after.
  private static func nibble32(_ codes: Int32) -> BlockInt {
    (.byte(codes + (e & 15)) >> ((e >> 4) << 2)) & 15
  }

  /// q4_0: f16 `d`, 16 code bytes; `(q - 8) · d`.
  public static let q4_0 = BlockFormat(
    .q4_0, ggml: "Q4_0", type: 2, elements: 32, fields: [("d", 2, .f16), ("qs", 16, .bytes)],
    value: (nibble32(2) - 8).float * .half(0))

  /// q4_1: f16 `d`, f16 `m`, 16 code bytes; `q · d + m`.
  public static let q4_1 = BlockFormat(
    .q4_1, ggml: "Q4_1", type: 3, elements: 32, fields: [("d", 2, .f16), ("m", 2, .f16), ("qs", 16, .bytes)],
    value: nibble32(4).float * .half(0) + .half(2))

  /// q5_0: f16 `d`, 32 high bits `qh` (bit `e` is element `e`'s fifth bit), 16 code bytes;
  /// `(q - 16) · d`.
  public static let q5_0 = BlockFormat(
    .q5_0, ggml: "Q5_0", type: 6, elements: 32, fields: [("d", 2, .f16), ("qh", 4, .bytes), ("qs", 16, .bytes)],
    value: ((nibble32(6) | (.bit(2 + (e >> 3), e & 7) << 4)) - 16).float * .half(0))

  /// q5_1: f16 `d`, f16 `m`, 32 high bits `qh`, 16 code bytes; `q · d + m`.
  public static let q5_1 = BlockFormat(
    .q5_1, ggml: "Q5_1", type: 7, elements: 32,
    fields: [("d", 2, .f16), ("m", 2, .f16), ("qh", 4, .bytes), ("qs", 16, .bytes)],
    value: (nibble32(8) | (.bit(4 + (e >> 3), e & 7) << 4)).float * .half(0) + .half(2))

  /// q8_0: f16 `d`, 32 signed code bytes; `q · d`.
  public static let q8_0 = BlockFormat(
    .q8_0, ggml: "Q8_0", type: 8, elements: 32, fields: [("d", 2, .f16), ("qs", 32, .bytes)],
    value: BlockInt.signedByte(2 + e).float * .half(0))

  /// q2_k: 16 bytes of 4-bit scale/minimum pairs (one per 16 elements), 64 bytes of 2-bit codes,
  /// f16 `d`, f16 `dmin`; `(d · (sc & 15)) · q - dmin · (sc >> 4)`. Each 128-element half reads
  /// 32 code bytes, its four 32-element quarters taking bits 0–1, 2–3, 4–5, 6–7.
  public static let q2_k: BlockFormat = {
    let scale = BlockInt.byte(e >> 4)
    let q = (BlockInt.byte(16 + ((e >> 7) << 5) + (e & 31)) >> (((e >> 5) & 3) << 1)) & 3
    return BlockFormat(
      .q2_k, ggml: "Q2_K", type: 10, elements: 256,
      fields: [("scales", 16, .bytes), ("qs", 64, .bytes), ("d", 2, .f16), ("dmin", 2, .f16)],
      value: (.half(80) * (scale & 15).float) * q.float - .half(82) * (scale >> 4).float)
  }()

  /// q3_k: 32 bytes of high bits `hmask`, 64 bytes of 2-bit codes, 12 bytes packing sixteen 6-bit
  /// scales, f16 `d`; `(d · (sc - 32)) · (q - 4 + 4·h)`. Scale `s`'s low 4 bits are nibble `s / 8`
  /// of byte `s % 8`, its high 2 bits bits `2·(s / 4)` of byte `8 + s % 4`; element `e`'s high
  /// bit is bit `4·(e / 128) + (e / 32) % 4` of `hmask[e % 32]`.
  public static let q3_k: BlockFormat = {
    let s = e >> 4
    let low = (BlockInt.byte(96 + (s & 7)) >> ((s >> 3) << 2)) & 15
    let high = (BlockInt.byte(104 + (s & 3)) >> ((s >> 2) << 1)) & 3
    let scale = (low | (high << 4)) - 32
    let q = (BlockInt.byte(32 + ((e >> 7) << 5) + (e & 31)) >> (((e >> 5) & 3) << 1)) & 3
    let h = BlockInt.bit(e & 31, ((e >> 7) << 2) + ((e >> 5) & 3))
    return BlockFormat(
      .q3_k, ggml: "Q3_K", type: 11, elements: 256,
      fields: [("hmask", 32, .bytes), ("qs", 64, .bytes), ("scales", 12, .bytes), ("d", 2, .f16)],
      value: (.half(108) * scale.float) * (q - 4 + (h << 2)).float)
  }()

  /// The 6-bit scale and minimum of sub-block `j` (0…7) from the 12 packed bytes at `at`
  /// (q4_k and q5_k): for `j < 4` the low 6 bits of bytes `j` and `j + 4`; after, a nibble of
  /// byte `j + 4` with the top two bits of bytes `j - 4` and `j`.
  private static func scaleAndMinimum(_ j: BlockInt, at: Int32) -> (BlockInt, BlockInt) {
    func byte(_ offset: BlockInt) -> BlockInt { .byte(at + offset) }
    let scale = BlockInt.select(j, lessThan: 4, byte(j) & 63, (byte(j + 4) & 15) | ((byte(j - 4) >> 6) << 4))
    let minimum = BlockInt.select(j, lessThan: 4, byte(j + 4) & 63, (byte(j + 4) >> 4) | ((byte(j) >> 6) << 4))
    return (scale, minimum)
  }

  /// q4_k: f16 `d`, f16 `dmin`, 12 bytes of packed 6-bit scales and minimums (eight 32-element
  /// sub-blocks), 128 code bytes (each 64 elements share 32 bytes: low nibbles, then high);
  /// `(d · sc) · q - dmin · m`.
  public static let q4_k: BlockFormat = {
    let j = e >> 5
    let (scale, minimum) = scaleAndMinimum(j, at: 4)
    let q = (BlockInt.byte(16 + ((e >> 6) << 5) + (e & 31)) >> ((j & 1) << 2)) & 15
    return BlockFormat(
      .q4_k, ggml: "Q4_K", type: 12, elements: 256,
      fields: [("d", 2, .f16), ("dmin", 2, .f16), ("scales", 12, .bytes), ("qs", 128, .bytes)],
      value: (.half(0) * scale.float) * q.float - .half(2) * minimum.float)
  }()

  /// q5_k: q4_k's header, 32 bytes of high bits `qh` (bit `j` of `qh[e % 32]` for sub-block `j`),
  /// then q4_k's 128 code bytes; `(d · sc) · q - dmin · m`.
  public static let q5_k: BlockFormat = {
    let j = e >> 5
    let (scale, minimum) = scaleAndMinimum(j, at: 4)
    let low = (BlockInt.byte(48 + ((e >> 6) << 5) + (e & 31)) >> ((j & 1) << 2)) & 15
    let q = low | (BlockInt.bit(16 + (e & 31), j) << 4)
    return BlockFormat(
      .q5_k, ggml: "Q5_K", type: 13, elements: 256,
      fields: [("d", 2, .f16), ("dmin", 2, .f16), ("scales", 12, .bytes), ("qh", 32, .bytes), ("qs", 128, .bytes)],
      value: (.half(0) * scale.float) * q.float - .half(2) * minimum.float)
  }()

  /// q6_k: 128 bytes of low nibbles `ql`, 64 bytes of 2-bit highs `qh`, 16 signed scales (one per
  /// 16 elements), f16 `d`; `(d · sc) · (q - 32)`. Each 128-element half reads 64 `ql` bytes
  /// (quarters 0 and 2 the low and high nibbles of the first 32, quarters 1 and 3 of the next)
  /// and 32 `qh` bytes (quarter `k` taking bits `2k`, `2k + 1`).
  public static let q6_k: BlockFormat = {
    let quarter = (e >> 5) & 3, l = e & 31
    let low = (BlockInt.byte(((e >> 7) << 6) + ((quarter & 1) << 5) + l) >> ((quarter >> 1) << 2)) & 15
    let high = (BlockInt.byte(128 + ((e >> 7) << 5) + l) >> (quarter << 1)) & 3
    let q = (low | (high << 4)) - 32
    return BlockFormat(
      .q6_k, ggml: "Q6_K", type: 14, elements: 256,
      fields: [("ql", 128, .bytes), ("qh", 64, .bytes), ("scales", 16, .bytes), ("d", 2, .f16)],
      value: (.half(208) * BlockInt.signedByte(192 + (e >> 4)).float) * q.float)
  }()

  /// Every block format, in GGUF type id order.
  public static let all: [BlockFormat] = [q4_0, q4_1, q5_0, q5_1, q8_0, q2_k, q3_k, q4_k, q5_k, q6_k]

  /// The format with GGUF type id `type`, if Tessera reads it.
  public static func gguf(_ type: UInt32) -> BlockFormat? { all.first { $0.ggufType == type } }
}
