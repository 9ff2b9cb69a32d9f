import TesseraIR

/// q4_0, q4_1 and q8_0 weights repacked into tiles of four rows, so a matrix-vector product reads
/// one sequential stream instead of four (GGUF keeps each row's blocks contiguous; at `k = 1536`
/// the four-row pass over GGUF rows streamed 4.9 GB/s from memory, the tiles 10.7) and the four
/// rows share each load of `x`.
///
/// Tile `t` holds rows `4t … 4t+3` (past the last row, copies of it); for each block `b` of 32
/// weights along `k` it stores the four rows' f16 scales `d`, then (q4_1) their f16 minimums `m`,
/// then their codes (16 bytes of nibbles, or q8_0's 32 signed bytes) in row order, each as GGUF
/// stores them. The values are
/// GGUF's, only their order changes, so results equal the GGUF-layout kernels' up to summation
/// order.
public enum QuantizedTiles {
  /// Weight rows per tile.
  public static let rows = 4

  /// Whether `dtype` has a tiled layout (the block-quantized ones).
  public static func supports(_ dtype: DType) -> Bool { dtype == .q4_0 || dtype == .q4_1 || dtype == .q8_0 }

  /// Whether matmuls in `precision` read tiles of `dtype` on this CPU: every tiled dtype with f32
  /// activations, and with int8 activations where AVX-512 VNNI or AVX2 runs ``Int8TileMatvec``.
  public static func supports(_ dtype: DType, precision: QuantizedPrecision) -> Bool {
    precision == .f32Activations ? supports(dtype) : Int8TileMatvec.supports(dtype)
  }

  /// Bytes of the tiled copy of an `n × k` matrix of `dtype`.
  public static func byteCount(n: Int, k: Int, dtype: DType) -> Int {
    (n + rows - 1) / rows * (k / 32) * blockBytes(dtype)
  }

  /// Writes the tiled copy of the `n × k` GGUF matrix `weights` (blocks along `k`) to `tiles`,
  /// which holds ``byteCount(n:k:dtype:)`` bytes; threads of `pool` share the tiles.
  public static func repack(
    _ weights: UnsafeRawPointer, n: Int, k: Int, dtype: DType, into tiles: UnsafeMutableRawPointer,
    pool: CPUThreadPool = .single
  ) {
    precondition(supports(dtype) && k % 32 == 0, "QuantizedTiles: \(dtype) with k = \(k)")
    let blocks = k / 32, sourceBytes = QuantizedBlocks.blockBytes(dtype), tileBytes = blockBytes(dtype)
    let codeBytes = dtype == .q8_0 ? 32 : 16, scales = (sourceBytes - codeBytes) / 2
    let buffers = RepackBuffers(weights: weights, tiles: tiles)
    pool.forEachChunk(of: (n + rows - 1) / rows) { range in
      var target = buffers.tiles + range.lowerBound * blocks * tileBytes
      for first in stride(from: range.lowerBound * rows, to: range.upperBound * rows, by: rows) {
        for block in 0..<blocks {
          for lane in 0..<rows {
            let source = buffers.weights + (Swift.min(first + lane, n - 1) * blocks + block) * sourceBytes
            for scale in 0..<scales {
              let value = source.loadUnaligned(fromByteOffset: scale * 2, as: UInt16.self)
              target.storeBytes(of: value, toByteOffset: (scale * rows + lane) * 2, as: UInt16.self)
            }
            (target + scales * 2 * rows + lane * codeBytes).copyMemory(from: source + scales * 2, byteCount: codeBytes)
          }
          target += tileBytes
        }
      }
    }
  }

  /// Bytes one block of a tile takes: four blocks of `dtype`.
  static func blockBytes(_ dtype: DType) -> Int { rows * QuantizedBlocks.blockBytes(dtype) }

  /// `y[r] = W[r]·x` for the rows `rows` of the tiled matrix (`rows.lowerBound` a multiple of 4).
  static func multiply(
    x: UnsafePointer<Float>, k: Int, tiles: UnsafeRawPointer, dtype: DType, rows: Range<Int>,
    y: UnsafeMutablePointer<Float>
  ) {
    switch dtype {
    case .q4_1: multiply(Q4_1Tile.self, x: x, k: k, tiles: tiles, rows: rows, y: y)
    case .q8_0: multiply(Q8_0Tile.self, x: x, k: k, tiles: tiles, rows: rows, y: y)
    default: multiply(Q4_0Tile.self, x: x, k: k, tiles: tiles, rows: rows, y: y)
    }
  }

  /// The loop over tiles for one format: per block, each row's codes times `x` scaled by its `d`
  /// (one FMA per 16 lanes), and the four offsets applied through the block's precomputed sum of
  /// `x` — the arithmetic of ``QuantizedMatvec``.
  private static func multiply<Format: QuantizedTileFormat>(
    _ format: Format.Type, x: UnsafePointer<Float>, k: Int, tiles: UnsafeRawPointer, rows: Range<Int>,
    y: UnsafeMutablePointer<Float>
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
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
        var offsets = SIMD4<Float>()
        for block in 0..<blocks {
          let low = xp.loadUnaligned(as: SIMD16<Float>.self)
          let high = xp.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
          let (scales, offset) = Format.scalesAndOffsets(p)
          if Format.hasOffset { offsets = offsets.addingProduct(offset, sums[block]) }
          @inline(__always) func product(_ lane: Int) -> SIMD16<Float> {
            let (lowCodes, highCodes) = Format.codes(p, lane: lane)
            return (lowCodes * low).addingProduct(highCodes, high)
          }
          a0 = a0.addingProduct(product(0), SIMD16(repeating: scales[0]))
          a1 = a1.addingProduct(product(1), SIMD16(repeating: scales[1]))
          a2 = a2.addingProduct(product(2), SIMD16(repeating: scales[2]))
          a3 = a3.addingProduct(product(3), SIMD16(repeating: scales[3]))
          p += Format.bytes
          xp += 128
        }
        let result = SIMD4(a0.sum(), a1.sum(), a2.sum(), a3.sum()) + offsets
        for lane in 0..<Swift.min(Self.rows, rows.upperBound - first) { y[first + lane] = result[lane] }
      }
    }
  }

  /// Decodes tile `tile` (rows `4·tile …`) of a matrix with `k` columns into four rows of `k`
  /// floats at `out`, each weight `code · d + offset` rounded once as
  /// ``QuantizedBlocks/decode(_:block:dtype:)`` does.
  static func decodeTile(
    _ tiles: UnsafeRawPointer, tile: Int, k: Int, dtype: DType, into out: UnsafeMutablePointer<Float>
  ) {
    switch dtype {
    case .q4_1: decodeTile(Q4_1Tile.self, tiles, tile: tile, k: k, into: out)
    case .q8_0: decodeTile(Q8_0Tile.self, tiles, tile: tile, k: k, into: out)
    default: decodeTile(Q4_0Tile.self, tiles, tile: tile, k: k, into: out)
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
      let (scales, offsets) = Format.scalesAndOffsets(p)
      for lane in 0..<rows {
        let (low, high) = Format.codes(p, lane: lane)
        let scale = SIMD16<Float>(repeating: scales[lane]), offset = SIMD16<Float>(repeating: offsets[lane])
        let row = lane * k * 4 + block * 128
        raw.storeBytes(of: offset.addingProduct(low, scale), toByteOffset: row, as: SIMD16<Float>.self)
        raw.storeBytes(of: offset.addingProduct(high, scale), toByteOffset: row + 64, as: SIMD16<Float>.self)
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
  /// The four rows' scales `d` and offsets (q4_0 `-8d`, q4_1 `m`, q8_0 0) of the tile block at `p`.
  static func scalesAndOffsets(_ p: UnsafeRawPointer) -> (SIMD4<Float>, SIMD4<Float>)
  /// Row `lane`'s codes of elements 0–15 and 16–31 in the tile block at `p`, as floats.
  static func codes(_ p: UnsafeRawPointer, lane: Int) -> (SIMD16<Float>, SIMD16<Float>)
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
    let codes = p + codesOffset + lane * 32
    return (
      SIMDConversions.float(SIMDConversions.widen(codes.loadUnaligned(as: SIMD16<Int8>.self))),
      SIMDConversions.float(SIMDConversions.widen((codes + 16).loadUnaligned(as: SIMD16<Int8>.self)))
    )
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
