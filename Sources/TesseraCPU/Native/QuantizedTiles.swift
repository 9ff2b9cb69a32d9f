import CTesseraSIMD
import TesseraIR

/// Block-quantized weights repacked into tiles of four rows, so a matrix-vector product reads
/// one sequential stream instead of four (GGUF keeps each row's blocks contiguous; at `k = 1536`
/// the four-row pass over GGUF rows streamed 4.9 GB/s from memory, the tiles 10.7) and the four
/// rows share each load of `x`.
///
/// Tile `t` holds rows `4t … 4t+3` (past the last row, copies of it); for each block `b` of 32
/// weights along `k` it stores the four rows' scales, then their offsets where the layout has
/// them, then their codes in row order (``Layout``). q4_0, q4_1 and q8_0 keep GGUF's values, only
/// their order changes, so results equal the GGUF-layout kernels' up to summation order. q5_0,
/// q5_1, q3_k, q4_k, q5_k and q6_k have no GGUF-layout kernel: only tiles are read, repacked into
/// the q8_0, ``Q4ScaledTile`` and ``Q8ScaledTile`` layouts with every weight's value unchanged
/// (the K formats' f32 scales `d · sc` and offsets `-dmin · m` rounded as the reference rounds
/// them). f16 and bf16 weights (an F16 GGUF's, read through `cast`) take tiles of their 16-bit
/// values (``F16Tile``, ``BF16Tile``), widened in registers, with f32 activations in both
/// precision modes.
public enum QuantizedTiles {
  /// Weight rows per tile.
  public static let rows = 4

  /// The tile layout a weight dtype is repacked into.
  enum Layout: Sendable, Equatable {
    /// q4_0's: four f16 `d`, four rows of 16 nibble bytes.
    case q4_0
    /// q4_1's: four f16 `d`, four f16 `m`, four rows of 16 nibble bytes.
    case q4_1
    /// q8_0's: four f16 `d`, four rows of 32 signed code bytes. q5_0 takes it too: its code
    /// `q - 16` (−16…15) is a signed byte with the same `d`.
    case q8_0
    /// ``Q4ScaledTile``: q4_k's 32-weight sub-blocks, each with an f32 scale and offset.
    case q4Scaled
    /// ``Q8ScaledTile``: q5_1's, q3_k's, q5_k's and q6_k's codes as signed bytes, an f32 scale
    /// per 16 weights and an f32 offset per 32.
    case q8Scaled
    /// ``F16Tile``: f16 weights as they are, widened in registers.
    case f16
    /// ``BF16Tile``: bf16 weights as they are, widened in registers.
    case bf16

    /// The layout of `dtype`, or nil where it has none.
    init?(_ dtype: DType) {
      switch dtype {
      case .q4_0: self = .q4_0
      case .q4_1: self = .q4_1
      case .q8_0, .q5_0: self = .q8_0
      case .q4_k: self = .q4Scaled
      case .q5_1, .q3_k, .q5_k, .q6_k: self = .q8Scaled
      case .f16: self = .f16
      case .bf16: self = .bf16
      default: return nil
      }
    }

    /// Bytes of one tile block: four rows of 32 weights.
    var bytes: Int {
      switch self {
      case .q4_0: Q4_0Tile.bytes
      case .q4_1: Q4_1Tile.bytes
      case .q8_0: Q8_0Tile.bytes
      case .q4Scaled: Q4ScaledTile.bytes
      case .q8Scaled: Q8ScaledTile.bytes
      case .f16: F16Tile.bytes
      case .bf16: BF16Tile.bytes
      }
    }

    /// Whether the tiles hold codes (every quantized format), which the int8-activation kernels
    /// multiply as integers; f16 and bf16 tiles hold floats and take f32 activations.
    var holdsCodes: Bool { self != .f16 && self != .bf16 }
  }

  /// Whether `dtype` has a tiled layout.
  public static func supports(_ dtype: DType) -> Bool { Layout(dtype) != nil }

  /// Whether `dtype` has tiles but no kernel that reads its GGUF blocks in place (q5_0, q5_1,
  /// the K formats q3_k, q4_k, q5_k, q6_k, and f16, bf16): its matmuls always read tiles,
  /// repacked for the call when the weight has none.
  public static func onlyTiled(_ dtype: DType) -> Bool { supports(dtype) && !QuantizedBlocks.readsInPlace(dtype) }

  /// Whether matmuls in `precision` read tiles of `dtype` on this CPU: every tiled dtype with f32
  /// activations or when only tiles read it; with int8 activations where AVX-512 VNNI or AVX2 runs
  /// ``Int8TileMatvec``.
  public static func supports(_ dtype: DType, precision: QuantizedPrecision) -> Bool {
    precision == .f32Activations || onlyTiled(dtype) ? supports(dtype) : Int8TileMatvec.supports(dtype)
  }

  /// Bytes of the tiled copy of an `n × k` matrix of `dtype`.
  public static func byteCount(n: Int, k: Int, dtype: DType) -> Int {
    (n + rows - 1) / rows * (k / 32) * Layout(dtype)!.bytes
  }

  /// Writes the tiled copy of the `n × k` GGUF matrix `weights` (blocks along `k`) to `tiles`,
  /// which holds ``byteCount(n:k:dtype:)`` bytes; threads of `pool` share the tiles.
  public static func repack(
    _ weights: UnsafeRawPointer, n: Int, k: Int, dtype: DType, into tiles: UnsafeMutableRawPointer,
    pool: CPUThreadPool = .single
  ) {
    precondition(
      supports(dtype) && k % QuantizedBlocks.blockElements(dtype) == 0, "QuantizedTiles: \(dtype) with k = \(k)")
    let blocks = k / 32, tileBytes = Layout(dtype)!.bytes, rowBytes = QuantizedBlocks.rowBytes(k: k, dtype: dtype)
    // Looked up once: a dtype's block size comes from its `BlockFormat`, a struct of arrays that
    // every lookup copies (retains and releases were a quarter of a short SmolLM2 run).
    let blockBytes = QuantizedBlocks.blockBytes(dtype)
    let buffers = RepackBuffers(weights: weights, tiles: tiles)
    pool.forEachChunk(of: (n + rows - 1) / rows) { range in
      for tile in range {
        for block in 0..<blocks {
          let target = buffers.tiles + (tile * blocks + block) * tileBytes
          for lane in 0..<rows {
            let row = buffers.weights + Swift.min(tile * rows + lane, n - 1) * rowBytes
            writeLane(dtype, blockBytes: blockBytes, row: row, block: block, lane: lane, into: target)
          }
        }
      }
    }
  }

  /// `y[r] = W[r]·x` for the rows `rows` of the tiled matrix (`rows.lowerBound` a multiple of 4),
  /// with sixteen-lane sums where the code is built for 512-bit vectors, else eight-lane ones
  /// (``TileAccumulator``; tests run both).
  static func multiply(
    x: UnsafePointer<Float>, k: Int, tiles: UnsafeRawPointer, dtype: DType, rows: Range<Int>,
    y: UnsafeMutablePointer<Float>, sixteenLanes: Bool = tessera_vectors_are_512_bit() != 0
  ) {
    if sixteenLanes {
      multiply(SIMD16<Float>.self, x: x, k: k, tiles: tiles, dtype: dtype, rows: rows, y: y)
    } else {
      multiply(SIMD8<Float>.self, x: x, k: k, tiles: tiles, dtype: dtype, rows: rows, y: y)
    }
  }

  /// ``multiply(x:k:tiles:dtype:rows:y:sixteenLanes:)`` with sums of `Accumulator`.
  private static func multiply<Accumulator: TileAccumulator>(
    _ accumulator: Accumulator.Type, x: UnsafePointer<Float>, k: Int, tiles: UnsafeRawPointer, dtype: DType,
    rows: Range<Int>, y: UnsafeMutablePointer<Float>
  ) {
    switch Layout(dtype)! {
    case .q4_0: multiply(Q4_0Tile.self, Accumulator.self, x: x, k: k, tiles: tiles, rows: rows, y: y)
    case .q4_1: multiply(Q4_1Tile.self, Accumulator.self, x: x, k: k, tiles: tiles, rows: rows, y: y)
    case .q8_0: multiply(Q8_0Tile.self, Accumulator.self, x: x, k: k, tiles: tiles, rows: rows, y: y)
    case .q4Scaled: multiply(Q4ScaledTile.self, Accumulator.self, x: x, k: k, tiles: tiles, rows: rows, y: y)
    case .q8Scaled: multiply(Q8ScaledTile.self, Accumulator.self, x: x, k: k, tiles: tiles, rows: rows, y: y)
    case .f16: multiply(F16Tile.self, Accumulator.self, x: x, k: k, tiles: tiles, rows: rows, y: y)
    case .bf16: multiply(BF16Tile.self, Accumulator.self, x: x, k: k, tiles: tiles, rows: rows, y: y)
    }
  }

  /// The loop over tiles: per block, each row's codes times `x`, scaled by its `d` (by each
  /// half's scale where the format ``QuantizedTileFormat/splitsScales``), and the four offsets
  /// applied through the block's precomputed sum of `x` — the arithmetic of ``QuantizedMatvec``.
  private static func multiply<Format: QuantizedTileFormat, Accumulator: TileAccumulator>(
    _ format: Format.Type, _ accumulator: Accumulator.Type, x: UnsafePointer<Float>, k: Int,
    tiles: UnsafeRawPointer, rows: Range<Int>, y: UnsafeMutablePointer<Float>
  ) {
    precondition(rows.lowerBound % Self.rows == 0, "QuantizedTiles: rows start at \(rows.lowerBound)")
    let blocks = k / 32, tileBytes = blocks * Format.bytes
    let raw = UnsafeRawPointer(x)
    withUnsafeTemporaryAllocation(of: Float.self, capacity: blocks) { sums in
      for block in 0..<blocks {
        let low = raw.loadUnaligned(fromByteOffset: block * 128, as: SIMD16<Float>.self)
        sums[block] = (low + raw.loadUnaligned(fromByteOffset: block * 128 + 64, as: SIMD16<Float>.self)).sum()
      }
      for first in stride(from: rows.lowerBound, to: rows.upperBound, by: Self.rows) {
        var p = tiles + first / Self.rows * tileBytes, xp = raw
        var a0 = Accumulator(), a1 = Accumulator(), a2 = Accumulator(), a3 = Accumulator()
        var offsets = SIMD4<Float>()
        for block in 0..<blocks {
          prefetchAhead(of: p, bytes: Format.bytes)
          let x = (
            xp.loadUnaligned(as: SIMD16<Float>.self), xp.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
          )
          let (scales, offset) = Format.scalesAndOffsets(p)
          if Format.hasOffset { offsets = offsets.addingProduct(offset, sums[block]) }
          if Format.splitsScales {
            let (lowScales, highScales) = Format.halfScales(p)
            a0.add(Format.codes(p, lane: 0), times: x, scales: (lowScales[0], highScales[0]))
            a1.add(Format.codes(p, lane: 1), times: x, scales: (lowScales[1], highScales[1]))
            a2.add(Format.codes(p, lane: 2), times: x, scales: (lowScales[2], highScales[2]))
            a3.add(Format.codes(p, lane: 3), times: x, scales: (lowScales[3], highScales[3]))
          } else {
            a0.add(Format.codes(p, lane: 0), times: x, scale: scales[0])
            a1.add(Format.codes(p, lane: 1), times: x, scale: scales[1])
            a2.add(Format.codes(p, lane: 2), times: x, scale: scales[2])
            a3.add(Format.codes(p, lane: 3), times: x, scale: scales[3])
          }
          p += Format.bytes
          xp += 128
        }
        let result = SIMD4(a0.sum(), a1.sum(), a2.sum(), a3.sum()) + offsets
        for lane in 0..<Swift.min(Self.rows, rows.upperBound - first) { y[first + lane] = result[lane] }
      }
    }
  }

  /// How far ahead of the tile block being multiplied the matvec kernels prefetch, in bytes. On
  /// Zen 1 the out-of-cache int8 decode waited on the weights' first loads with the hardware
  /// prefetcher alone (a third of the q4 kernel's samples); with one prefetch a block, 1 KiB
  /// ahead, every other line of a 136-byte q8_0 block was still left to it, and the q8_0 matvec
  /// streamed 7.0 GB/s where it computes 9.5 from the level-2 cache. Every line, 2 KiB ahead,
  /// streams 9.5 (docs/cpu-quantized-matvec.md). A Zen 5 core streams about twice as fast, and
  /// there 4 KiB ahead beat 2 KiB (SmolLM2 Q4_K_M int8 decode, best of six alternating runs on a
  /// shared machine, 123 → 159 tok/s; Q4_1 158 → 172): builds for 512-bit vectors, which the
  /// fast cores are, look 4 KiB ahead.
  static let prefetchDistance = tessera_vectors_are_512_bit() != 0 ? 4096 : 2048

  /// Prefetches every cache line of the tile block of `bytes` bytes that lies
  /// ``prefetchDistance`` past the block at `block`. Blocks are not a whole number of lines, so
  /// a line two blocks share is asked for twice, which costs nothing.
  @inline(__always)
  static func prefetchAhead(of block: UnsafeRawPointer, bytes: Int) {
    let ahead = block + prefetchDistance
    for offset in stride(from: 0, to: bytes, by: 64) { tessera_prefetch(ahead + offset) }
    tessera_prefetch(ahead + bytes - 1)
  }

  /// Decodes tile `tile` (rows `4·tile …`) of a matrix with `k` columns into four rows of `k`
  /// floats at `out`, each weight `code · scale + offset` rounded once as
  /// ``QuantizedBlocks/decode(_:block:dtype:)`` does (q4_k: the reference rounds twice).
  static func decodeTile(
    _ tiles: UnsafeRawPointer, tile: Int, k: Int, dtype: DType, into out: UnsafeMutablePointer<Float>
  ) {
    switch Layout(dtype)! {
    case .q4_0: decodeTile(Q4_0Tile.self, tiles, tile: tile, k: k, into: out)
    case .q4_1: decodeTile(Q4_1Tile.self, tiles, tile: tile, k: k, into: out)
    case .q8_0: decodeTile(Q8_0Tile.self, tiles, tile: tile, k: k, into: out)
    case .q4Scaled: decodeTile(Q4ScaledTile.self, tiles, tile: tile, k: k, into: out)
    case .q8Scaled: decodeTile(Q8ScaledTile.self, tiles, tile: tile, k: k, into: out)
    case .f16: decodeTile(F16Tile.self, tiles, tile: tile, k: k, into: out)
    case .bf16: decodeTile(BF16Tile.self, tiles, tile: tile, k: k, into: out)
    }
  }

  /// ``decodeTile(_:tile:k:dtype:into:)`` for one format.
  private static func decodeTile<Format: QuantizedTileFormat>(
    _ format: Format.Type, _ tiles: UnsafeRawPointer, tile: Int, k: Int, into out: UnsafeMutablePointer<Float>
  ) {
    let blocks = k / 32, bytes = Format.bytes
    let raw = UnsafeMutableRawPointer(out)
    var p = tiles + tile * blocks * bytes
    for block in 0..<blocks {
      let (_, offsets) = Format.scalesAndOffsets(p)
      let (lowScales, highScales) = Format.halfScales(p)
      for lane in 0..<rows {
        let (low, high) = Format.codes(p, lane: lane)
        let offset = SIMD16<Float>(repeating: offsets[lane])
        let row = lane * k * 4 + block * 128
        raw.storeBytes(
          of: offset.addingProduct(low, SIMD16(repeating: lowScales[lane])), toByteOffset: row, as: SIMD16<Float>.self)
        raw.storeBytes(
          of: offset.addingProduct(high, SIMD16(repeating: highScales[lane])), toByteOffset: row + 64,
          as: SIMD16<Float>.self)
      }
      p += bytes
    }
  }
}

/// The matrices a parallel repack shares. `@unchecked Sendable`: the weights are only read, and
/// each thread writes its own tiles.
private struct RepackBuffers: @unchecked Sendable {
  let weights: UnsafeRawPointer
  let tiles: UnsafeMutableRawPointer
}

/// A tiled block layout: where the codes start and how the four rows' scales and offsets read.
protocol QuantizedTileFormat {
  /// Bytes of one block of a tile.
  static var bytes: Int { get }
  /// Where the four rows' codes start in a block.
  static var codesOffset: Int { get }
  /// Whether the offsets can be non-zero.
  static var hasOffset: Bool { get }
  /// The four rows' scales and offsets (q4_0 `d` and `-8d`, q4_1 `d` and `m`, q8_0 `d` and 0,
  /// q4_k `d · sc` and `-dmin · m`) of the tile block at `p`.
  static func scalesAndOffsets(_ p: UnsafeRawPointer) -> (SIMD4<Float>, SIMD4<Float>)
  /// Row `lane`'s codes of elements 0–15 and 16–31 in the tile block at `p`, as floats.
  static func codes(_ p: UnsafeRawPointer, lane: Int) -> (SIMD16<Float>, SIMD16<Float>)
  /// Whether elements 0–15 and 16–31 of a row have scales of their own (q6_k's 16-weight
  /// sub-blocks); then ``scalesAndOffsets(_:)``'s scales are those of elements 0–15.
  static var splitsScales: Bool { get }
  /// The four rows' scales of elements 0–15 and of 16–31 in the tile block at `p`.
  static func halfScales(_ p: UnsafeRawPointer) -> (SIMD4<Float>, SIMD4<Float>)
}

/// One scale per row and block, unless a format says otherwise.
extension QuantizedTileFormat {
  static var splitsScales: Bool { false }
  @inline(__always)
  static func halfScales(_ p: UnsafeRawPointer) -> (SIMD4<Float>, SIMD4<Float>) {
    let scales = scalesAndOffsets(p).0
    return (scales, scales)
  }
}

/// q4_0 tile block: four f16 `d`, four rows of 16 code bytes.
enum Q4_0Tile: QuantizedTileFormat {
  static let bytes = 72
  static let codesOffset = 8
  static let hasOffset = true
  @inline(__always)
  static func scalesAndOffsets(_ p: UnsafeRawPointer) -> (SIMD4<Float>, SIMD4<Float>) {
    let d = halves(p)
    return (d, -8 * d)
  }
  @inline(__always)
  static func codes(_ p: UnsafeRawPointer, lane: Int) -> (SIMD16<Float>, SIMD16<Float>) {
    QuantizedBlocks.nibbles(p + codesOffset + lane * 16)
  }
}

/// q4_1 tile block: four f16 `d`, four f16 `m`, four rows of 16 code bytes.
enum Q4_1Tile: QuantizedTileFormat {
  static let bytes = 80
  static let codesOffset = 16
  static let hasOffset = true
  @inline(__always)
  static func scalesAndOffsets(_ p: UnsafeRawPointer) -> (SIMD4<Float>, SIMD4<Float>) {
    (halves(p), halves(p + 8))
  }
  @inline(__always)
  static func codes(_ p: UnsafeRawPointer, lane: Int) -> (SIMD16<Float>, SIMD16<Float>) {
    QuantizedBlocks.nibbles(p + codesOffset + lane * 16)
  }
}

/// q8_0 tile block: four f16 `d`, four rows of 32 signed code bytes.
enum Q8_0Tile: QuantizedTileFormat {
  static let bytes = 136
  static let codesOffset = 8
  static let hasOffset = false
  @inline(__always)
  static func scalesAndOffsets(_ p: UnsafeRawPointer) -> (SIMD4<Float>, SIMD4<Float>) { (halves(p), SIMD4()) }
  @inline(__always)
  static func codes(_ p: UnsafeRawPointer, lane: Int) -> (SIMD16<Float>, SIMD16<Float>) {
    signedCodes(p + codesOffset + lane * 32)
  }
  /// The 32 signed bytes at `codes` as floats, elements 0–15 and 16–31.
  @inline(__always)
  static func signedCodes(_ codes: UnsafeRawPointer) -> (SIMD16<Float>, SIMD16<Float>) {
    (
      SIMDConversions.float(SIMDConversions.widen(codes.loadUnaligned(as: SIMD16<Int8>.self))),
      SIMDConversions.float(SIMDConversions.widen((codes + 16).loadUnaligned(as: SIMD16<Int8>.self)))
    )
  }
}

/// q4_k tile block: four f32 scales `d · sc`, four f32 offsets `-dmin · m`, four rows of 16 code
/// bytes paired as q4_0 pairs them (low nibbles elements 0–15, high nibbles 16–31).
enum Q4ScaledTile: QuantizedTileFormat {
  static let bytes = 96
  static let codesOffset = 32
  static let hasOffset = true
  @inline(__always)
  static func scalesAndOffsets(_ p: UnsafeRawPointer) -> (SIMD4<Float>, SIMD4<Float>) {
    (p.loadUnaligned(as: SIMD4<Float>.self), p.loadUnaligned(fromByteOffset: 16, as: SIMD4<Float>.self))
  }
  @inline(__always)
  static func codes(_ p: UnsafeRawPointer, lane: Int) -> (SIMD16<Float>, SIMD16<Float>) {
    QuantizedBlocks.nibbles(p + codesOffset + lane * 16)
  }
}

/// q5_1, q3_k, q5_k and q6_k tile block: the four rows' f32 scales of elements 0–15, then of
/// 16–31 (q5_1 `d`; `d · sc` of the 16- or 32-weight sub-block), four f32 offsets (q5_1 `m`,
/// q5_k `-dmin · m`, q3_k and q6_k 0), four rows of 32 signed code bytes (q5_1 and q5_k `q`,
/// 0…31; q3_k `q - 4 + 4h`, −4…3; q6_k `q - 32`, −32…31).
enum Q8ScaledTile: QuantizedTileFormat {
  static let bytes = 176
  static let codesOffset = 48
  static let hasOffset = true
  static let splitsScales = true
  @inline(__always)
  static func scalesAndOffsets(_ p: UnsafeRawPointer) -> (SIMD4<Float>, SIMD4<Float>) {
    (p.loadUnaligned(as: SIMD4<Float>.self), p.loadUnaligned(fromByteOffset: 32, as: SIMD4<Float>.self))
  }
  @inline(__always)
  static func halfScales(_ p: UnsafeRawPointer) -> (SIMD4<Float>, SIMD4<Float>) {
    (p.loadUnaligned(as: SIMD4<Float>.self), p.loadUnaligned(fromByteOffset: 16, as: SIMD4<Float>.self))
  }
  @inline(__always)
  static func codes(_ p: UnsafeRawPointer, lane: Int) -> (SIMD16<Float>, SIMD16<Float>) {
    Q8_0Tile.signedCodes(p + codesOffset + lane * 32)
  }
}

/// The four f16 values at `p`, widened (one `vcvtph2ps`).
@inline(__always)
private func halves(_ p: UnsafeRawPointer) -> SIMD4<Float> {
  let bits = p.loadUnaligned(as: SIMD4<UInt16>.self)
  var result = SIMD4<Float>()
  for lane in 0..<4 { result[lane] = Float(Float16(bitPattern: bits[lane])) }
  return result
}
