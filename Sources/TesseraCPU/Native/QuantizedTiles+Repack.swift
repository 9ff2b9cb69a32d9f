import TesseraIR

/// How one row's 32 weights enter a tile block, per GGUF format.
extension QuantizedTiles {
  /// Writes block `block` (weights `32·block …`) of the GGUF row at `row` into lane `lane` of
  /// the tile block at `target`; `blockBytes` is the size of `dtype`'s GGUF block.
  static func writeLane(
    _ dtype: DType, blockBytes: Int, row: UnsafeRawPointer, block: Int, lane: Int, into target: UnsafeMutableRawPointer
  ) {
    switch dtype {
    case .q5_0: writeQ5_0(row + block * BlockFormat.q5_0.bytes, lane: lane, into: target)
    case .q5_1: writeQ5_1(row + block * BlockFormat.q5_1.bytes, lane: lane, into: target)
    case .q3_k: writeQ3_K(row + block / 8 * BlockFormat.q3_k.bytes, subBlock: block % 8, lane: lane, into: target)
    case .q4_k: writeQ4_K(row + block / 8 * BlockFormat.q4_k.bytes, subBlock: block % 8, lane: lane, into: target)
    case .q5_k: writeQ5_K(row + block / 8 * BlockFormat.q5_k.bytes, subBlock: block % 8, lane: lane, into: target)
    case .q6_k: writeQ6_K(row + block / 8 * BlockFormat.q6_k.bytes, subBlock: block % 8, lane: lane, into: target)
    case .f16, .bf16: (target + lane * 64).copyMemory(from: row + block * 64, byteCount: 64)
    default: copyBlock(row + block * blockBytes, blockBytes: blockBytes, dtype: dtype, lane: lane, into: target)
    }
  }

  /// q4_0, q4_1, q8_0: the block's f16 scale (and minimum) and its codes as GGUF stores them.
  private static func copyBlock(
    _ source: UnsafeRawPointer, blockBytes: Int, dtype: DType, lane: Int, into target: UnsafeMutableRawPointer
  ) {
    let codeBytes = dtype == .q8_0 ? 32 : 16, scales = (blockBytes - codeBytes) / 2
    for scale in 0..<scales {
      let value = source.loadUnaligned(fromByteOffset: scale * 2, as: UInt16.self)
      target.storeBytes(of: value, toByteOffset: (scale * rows + lane) * 2, as: UInt16.self)
    }
    (target + scales * 2 * rows + lane * codeBytes).copyMemory(from: source + scales * 2, byteCount: codeBytes)
  }

  /// q5_0 in q8_0's layout: its f16 `d` as it is and each code `q - 16` as a signed byte, so
  /// every weight `(q - 16) · d` is the reference's.
  private static func writeQ5_0(_ source: UnsafeRawPointer, lane: Int, into target: UnsafeMutableRawPointer) {
    target.storeBytes(of: source.loadUnaligned(as: UInt16.self), toByteOffset: lane * 2, as: UInt16.self)
    writeFiveBitCodes(source, fifthBitsAt: 2, minus: 16, into: target + Q8_0Tile.codesOffset + lane * 32)
  }

  /// q5_1 as a ``Q8ScaledTile`` lane: `d` for both halves, the offset `m`, each code `q` (0…31)
  /// as a byte, so every weight is `q · d + m` as the reference computes it (in one rounding).
  private static func writeQ5_1(_ source: UnsafeRawPointer, lane: Int, into target: UnsafeMutableRawPointer) {
    let d = QuantizedBlocks.half(source)
    target.storeBytes(of: d, toByteOffset: lane * 4, as: Float.self)
    target.storeBytes(of: d, toByteOffset: 16 + lane * 4, as: Float.self)
    target.storeBytes(of: QuantizedBlocks.half(source + 2), toByteOffset: 32 + lane * 4, as: Float.self)
    writeFiveBitCodes(source, fifthBitsAt: 4, minus: 0, into: target + Q8ScaledTile.codesOffset + lane * 32)
  }

  /// The 32 codes of a q5_0 or q5_1 block at `source` (32 fifth bits at `fifthBitsAt`, then 16
  /// nibble bytes: element `e`'s low four bits are nibble `e / 16` of byte `e % 16`), each less
  /// `minus`, as signed bytes at `codes`.
  private static func writeFiveBitCodes(
    _ source: UnsafeRawPointer, fifthBitsAt: Int, minus: Int, into codes: UnsafeMutableRawPointer
  ) {
    let fifthBits = UInt32(littleEndian: source.loadUnaligned(fromByteOffset: fifthBitsAt, as: UInt32.self))
    let nibbles = source + fifthBitsAt + 4
    for element in 0..<32 {
      let nibble = (nibbles.load(fromByteOffset: element & 15, as: UInt8.self) >> ((element >> 4) * 4)) & 15
      let code = Int(nibble) | Int((fifthBits >> element) & 1) << 4
      codes.storeBytes(of: Int8(code - minus), toByteOffset: element, as: Int8.self)
    }
  }

  /// Sub-block pair `j` (weights `32j …`) of the q3_k super-block at `source` as a
  /// ``Q8ScaledTile`` lane: `d · (sc - 32)` of each 16-weight half, no offset, each code
  /// `q - 4 + 4h` (−4…3) as a byte: `q` two bits of `qs`, `h` bit `j` of `hmask`.
  private static func writeQ3_K(
    _ source: UnsafeRawPointer, subBlock j: Int, lane: Int, into target: UnsafeMutableRawPointer
  ) {
    let d = QuantizedBlocks.half(source + 108)
    func byte(_ offset: Int) -> Int { Int(source.load(fromByteOffset: offset, as: UInt8.self)) }
    for half in 0..<2 {
      // Scale s: low bits nibble s / 8 of byte 96 + s % 8, high bits 2(s / 4) of byte 104 + s % 4.
      let s = 2 * j + half
      let scale = ((byte(96 + s & 7) >> ((s >> 3) * 4)) & 15) | ((byte(104 + s & 3) >> ((s >> 2) * 2)) & 3) << 4
      target.storeBytes(of: d * Float(scale - 32), toByteOffset: 16 * half + lane * 4, as: Float.self)
    }
    target.storeBytes(of: Float(0), toByteOffset: 32 + lane * 4, as: Float.self)
    let codes = 32 + (j >> 2) * 32, shift = (j & 3) * 2
    for l in 0..<32 {
      let code = (byte(codes + l) >> shift) & 3 - 4 + 4 * ((byte(l) >> j) & 1)
      target.storeBytes(of: Int8(code), toByteOffset: Q8ScaledTile.codesOffset + lane * 32 + l, as: Int8.self)
    }
  }

  /// Sub-block `j` (32 weights) of the q4_k super-block at `source` as a ``Q4ScaledTile`` lane:
  /// the f32 scale `d · sc` and offset `-(dmin · m)` as the reference rounds them, and the codes
  /// re-paired as q4_0 pairs them.
  private static func writeQ4_K(
    _ source: UnsafeRawPointer, subBlock j: Int, lane: Int, into target: UnsafeMutableRawPointer
  ) {
    let (scale, minimum) = q4_KScaleAndMinimum(source + 4, subBlock: j)
    let d = QuantizedBlocks.half(source), dmin = QuantizedBlocks.half(source + 2)
    target.storeBytes(of: d * Float(scale), toByteOffset: lane * 4, as: Float.self)
    target.storeBytes(of: -(dmin * Float(minimum)), toByteOffset: 16 + lane * 4, as: Float.self)
    let codes = source + 16 + (j >> 1) * 32, shift = (j & 1) * 4
    for i in 0..<16 {
      let low = (codes.load(fromByteOffset: i, as: UInt8.self) >> shift) & 15
      let high = (codes.load(fromByteOffset: i + 16, as: UInt8.self) >> shift) & 15
      target.storeBytes(of: low | (high << 4), toByteOffset: Q4ScaledTile.codesOffset + lane * 16 + i, as: UInt8.self)
    }
  }

  /// Sub-block `j` (32 weights) of the q5_k super-block at `source` as a ``Q8ScaledTile`` lane:
  /// `d · sc` for both halves, the offset `-(dmin · m)`, and each 5-bit code as a byte.
  private static func writeQ5_K(
    _ source: UnsafeRawPointer, subBlock j: Int, lane: Int, into target: UnsafeMutableRawPointer
  ) {
    let (scale, minimum) = q4_KScaleAndMinimum(source + 4, subBlock: j)
    let d = QuantizedBlocks.half(source), dmin = QuantizedBlocks.half(source + 2)
    let scaled = d * Float(scale)
    target.storeBytes(of: scaled, toByteOffset: lane * 4, as: Float.self)
    target.storeBytes(of: scaled, toByteOffset: 16 + lane * 4, as: Float.self)
    target.storeBytes(of: -(dmin * Float(minimum)), toByteOffset: 32 + lane * 4, as: Float.self)
    let codes = source + 48 + (j >> 1) * 32, shift = (j & 1) * 4
    for i in 0..<32 {
      let low = (codes.load(fromByteOffset: i, as: UInt8.self) >> shift) & 15
      let fifth = (source.load(fromByteOffset: 16 + i, as: UInt8.self) >> j) & 1
      target.storeBytes(of: low | (fifth << 4), toByteOffset: Q8ScaledTile.codesOffset + lane * 32 + i, as: UInt8.self)
    }
  }

  /// Sub-block pair `j` (weights `32j …`) of the q6_k super-block at `source` as a
  /// ``Q8ScaledTile`` lane: `d · sc` of each 16-weight half, no offset, codes `q - 32`.
  private static func writeQ6_K(
    _ source: UnsafeRawPointer, subBlock j: Int, lane: Int, into target: UnsafeMutableRawPointer
  ) {
    let d = QuantizedBlocks.half(source + 208)
    for half in 0..<2 {
      let scale = source.load(fromByteOffset: 192 + 2 * j + half, as: Int8.self)
      target.storeBytes(of: d * Float(scale), toByteOffset: 16 * half + lane * 4, as: Float.self)
    }
    target.storeBytes(of: Float(0), toByteOffset: 32 + lane * 4, as: Float.self)
    // Elements 128·h + 32·quarter + l: low nibble from ql, two high bits from qh.
    let half = j >> 2, quarter = j & 3
    let low = source + half * 64 + (quarter & 1) * 32, high = source + 128 + half * 32
    for l in 0..<32 {
      let nibble = (low.load(fromByteOffset: l, as: UInt8.self) >> ((quarter >> 1) * 4)) & 15
      let top = (high.load(fromByteOffset: l, as: UInt8.self) >> (quarter * 2)) & 3
      let code = Int8(nibble | (top << 4)) - 32
      target.storeBytes(of: code, toByteOffset: Q8ScaledTile.codesOffset + lane * 32 + l, as: Int8.self)
    }
  }

  /// The 6-bit scale and minimum of sub-block `j` (0…7) from the 12 packed bytes at `packed`
  /// (q4_k and q5_k):
  /// for `j < 4` the low 6 bits of bytes `j` and `j + 4`; after, a nibble of byte `j + 4` with
  /// the top two bits of bytes `j - 4` and `j`.
  private static func q4_KScaleAndMinimum(_ packed: UnsafeRawPointer, subBlock j: Int) -> (Int, Int) {
    func byte(_ index: Int) -> Int { Int(packed.load(fromByteOffset: index, as: UInt8.self)) }
    guard j >= 4 else { return (byte(j) & 63, byte(j + 4) & 63) }
    return ((byte(j + 4) & 15) | ((byte(j - 4) >> 6) << 4), (byte(j + 4) >> 4) | ((byte(j) >> 6) << 4))
  }
}
