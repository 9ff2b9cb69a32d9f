import CTesseraSIMD
import TesseraIR

/// ``QuantizedPrecision/int8Activations`` over ``QuantizedTiles`` with integer dot-product
/// instructions: AVX-512 VNNI where the CPU has it, else AVX2 (``Instructions``).
///
/// Per q4 tile block, the four rows' 64 code bytes split into their low and high nibbles (each
/// row's codes of elements 0–15, then of 16–31), and each meets the activation block's int8 codes
/// in one 64-byte dot product: byte products summed four at a time into 16 int32 lanes, four
/// lanes per row (one `vpdpbusd`, or two `vpmaddubsw` + `vpmaddwd` pairs). A q8_0 block's 128
/// signed codes go in as two registers of two rows each: made unsigned by adding 128 for VNNI
/// (`Σ (w + 128)·x = Σ w·x + 128 Σ x`), multiplied sign-for-sign with AVX2. The lanes are scaled
/// by `d · dx` in f32 and the offsets (q4_0's `-8d`, q4_1's `m`, q4_k's `-dmin · m`, q8_0's
/// `-128d` with VNNI) apply
/// through the block's `dx · Σ codes`. q5_k and q6_k (``Q8ScaledTile``) run as q8_0 does, each row's
/// eight lanes a half scaled by that half's scale — the arithmetic of ``Int8ActivationMatmul`` (exact integer
/// block sums, then the two scales) summed in another order. About twice the bytes per second of
/// the f32-activation tile kernel (whose int-to-float conversions and FMAs bound it) on the
/// out-of-cache SmolLM2 decode matrices with VNNI (docs/cpu-quantized-matvec.md).
enum Int8TileMatvec {
  /// The instruction sets the kernel runs on, fastest first.
  enum Instructions: CaseIterable, Sendable, CustomStringConvertible {
    /// AVX-512 VNNI: `vpdpbusd` on 512-bit registers.
    case vnni512
    /// AVX2: `vpmaddubsw`, `vpmaddwd` and `vpsignb` on 256-bit registers.
    case avx2

    /// Those this CPU runs (its registers enabled by the OS), fastest first.
    static let available: [Instructions] = allCases.filter {
      switch $0 {
      case .vnni512: tessera_has_avx512_vnni() != 0
      case .avx2: tessera_has_avx2() != 0
      }
    }

    /// `vnni512` or `avx2`.
    var description: String { self == .vnni512 ? "vnni512" : "avx2" }
  }

  /// Whether this CPU runs the kernel: AVX-512 VNNI or AVX2 present and enabled by the OS.
  static let available = !Instructions.available.isEmpty

  /// Whether tiles of `dtype` run here in the int8-activation mode.
  static func supports(_ dtype: DType) -> Bool {
    available && QuantizedTiles.Layout(dtype)?.holdsCodes == true
  }

  /// An activation row laid out for the kernel, in memory its caller owns: per block, for q4
  /// weights, its codes 0–15 four times and then its codes 16–31 four times (128 bytes), so one
  /// load lines them up with four rows' nibbles; for q8_0's and ``Q8ScaledTile``'s byte codes,
  /// its 32 codes twice (64 bytes), lined up with two rows. Then the blocks' scales, scaled sums, and scaled sums of codes 0–15 (for the
  /// VNNI bias of formats with a scale per 16 weights). `@unchecked Sendable`: written
  /// once by ``quantize(_:k:dtype:into:)`` before the threads read it.
  struct Row: @unchecked Sendable {
    /// The spread codes.
    let spread: UnsafeRawPointer
    /// Per block, `dx = max|x| / 127`.
    let scales: UnsafePointer<Float>
    /// Per block, `dx · Σ codes`.
    let scaledSums: UnsafePointer<Float>
    /// Per block, `dx · Σ codes` of elements 0–15.
    let lowSums: UnsafePointer<Float>

    /// Bytes of spread codes per block for weights of `dtype`.
    static func spreadBytes(_ dtype: DType) -> Int {
      let layout = QuantizedTiles.Layout(dtype)
      return layout == .q8_0 || layout == .q8Scaled ? 64 : 128
    }

    /// Bytes of a row of `k` activations for weights of `dtype`.
    static func byteCount(k: Int, dtype: DType) -> Int { k / 32 * (spreadBytes(dtype) + 12) }

    /// The row laid out at `memory`.
    init(at memory: UnsafeRawPointer, k: Int, dtype: DType) {
      let blocks = k / 32
      spread = memory
      scales = (memory + blocks * Self.spreadBytes(dtype)).assumingMemoryBound(to: Float.self)
      scaledSums = scales + blocks
      lowSums = scales + 2 * blocks
    }

    /// Quantizes the `k` floats at `x` as ``Int8ActivationMatmul/quantize(_:k:)`` does and lays
    /// them out at `memory` (``byteCount(k:dtype:)`` bytes) for weights of `dtype`.
    static func quantize(_ x: UnsafePointer<Float>, k: Int, dtype: DType, into memory: UnsafeMutableRawPointer) {
      let stride = spreadBytes(dtype), blocks = k / 32
      let scales = (memory + blocks * stride).bindMemory(to: Float.self, capacity: 3 * blocks)
      for block in 0..<blocks {
        let quantized = Int8ActivationMatmul.quantizeBlock(UnsafeRawPointer(x + block * 32))
        let codes = memory + block * stride
        if stride == 64 {
          for copy in 0..<2 {
            codes.storeBytes(of: quantized.low, toByteOffset: copy * 32, as: SIMD16<Int8>.self)
            codes.storeBytes(of: quantized.high, toByteOffset: copy * 32 + 16, as: SIMD16<Int8>.self)
          }
        } else {
          for copy in 0..<4 {
            codes.storeBytes(of: quantized.low, toByteOffset: copy * 16, as: SIMD16<Int8>.self)
            codes.storeBytes(of: quantized.high, toByteOffset: 64 + copy * 16, as: SIMD16<Int8>.self)
          }
        }
        scales[block] = quantized.scale
        scales[blocks + block] = quantized.scaledSum
        scales[2 * blocks + block] = quantized.scale * Float(SIMDConversions.widen(quantized.low).wrappedSum())
      }
    }
  }

  /// `y = x · Wᵀ` for `m` activation rows against tiled weights (`n × k`), threads splitting
  /// the output columns, with `instructions` (by default the fastest this CPU runs). Only for
  /// dtypes where ``supports(_:)`` holds, and instructions in ``Instructions/available``.
  static func multiply(
    x: UnsafePointer<Float>, m: Int, k: Int, tiles: UnsafeRawPointer, dtype: DType, n: Int,
    y: UnsafeMutablePointer<Float>, pool: CPUThreadPool, instructions: Instructions = Instructions.available[0]
  ) {
    SharedActivationMatvec.multiply(
      x: x, m: m, k: k, matrices: [.init(tiles: tiles, dtype: dtype, n: n, y: y)], precision: .int8Activations,
      pool: pool, instructions: instructions)
  }

  /// `y[i · ldy + r] = W[r] · row(i)` for `m` activation rows and the rows `rows` of the tiled
  /// matrix (`rows.lowerBound` a multiple of 4), with `instructions`. With several activation
  /// rows (prefill), panels of weight rows that fill half the L1 (``panelRows(k:dtype:caches:)``)
  /// are multiplied by every activation row in turn, two at a time for the q4 formats, where the
  /// whole matrix was read once per activation row.
  static func multiply(
    m: Int, row: (Int) -> Row, k: Int, tiles: UnsafeRawPointer, dtype: DType, rows: Range<Int>,
    y: UnsafeMutablePointer<Float>, ldy: Int, instructions: Instructions
  ) {
    switch instructions {
    case .vnni512:
      multiply(VNNI512.self, m: m, row: row, k: k, tiles: tiles, dtype: dtype, rows: rows, y: y, ldy: ldy)
    case .avx2: multiply(AVX2.self, m: m, row: row, k: k, tiles: tiles, dtype: dtype, rows: rows, y: y, ldy: ldy)
    }
  }

  private static func multiply<Dot: Int8DotProduct>(
    _ dot: Dot.Type, m: Int, row: (Int) -> Row, k: Int, tiles: UnsafeRawPointer, dtype: DType, rows: Range<Int>,
    y: UnsafeMutablePointer<Float>, ldy: Int
  ) {
    let panel = m == 1 ? Swift.max(rows.count, 1) : panelRows(k: k, dtype: dtype)
    for start in stride(from: rows.lowerBound, to: rows.upperBound, by: panel) {
      let part = start..<Swift.min(start + panel, rows.upperBound)
      for i in stride(from: 0, to: m - 1, by: 2) {
        multiplyPair(
          Dot.self, rows: (row(i), row(i + 1)), k: k, tiles: tiles, dtype: dtype, rows: part,
          y: (y + i * ldy, y + (i + 1) * ldy))
      }
      if m % 2 == 1 {
        multiply(Dot.self, row: row(m - 1), k: k, tiles: tiles, dtype: dtype, rows: part, y: y + (m - 1) * ldy)
      }
    }
  }

  /// Weight rows (a multiple of 4) whose tiles fill about half the level-1 cache: with several
  /// activation rows (prefill), each such panel is read from memory once and multiplied by every
  /// row from there, where the whole matrix was read once per activation row.
  static func panelRows(k: Int, dtype: DType, caches: CacheSizes = .host) -> Int {
    let tileBytes = k / 32 * QuantizedTiles.Layout(dtype)!.bytes
    return Swift.max(1, caches.level1 / 2 / tileBytes) * QuantizedTiles.rows
  }

  /// `y.0[r] = W[r] · pair.0` and `y.1[r] = W[r] · pair.1` for the rows `rows` of the tiled
  /// matrix in one pass (``multiplyPair(_:_:_:rows:k:tiles:rows:y:)``).
  private static func multiplyPair<Dot: Int8DotProduct>(
    _ dot: Dot.Type, rows pair: (Row, Row), k: Int, tiles: UnsafeRawPointer, dtype: DType, rows: Range<Int>,
    y: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)
  ) {
    switch QuantizedTiles.Layout(dtype)! {
    case .q4_0: multiplyPair(Dot.self, Q4_0Tile.self, NibbleSums.self, rows: pair, k: k, tiles: tiles, rows: rows, y: y)
    case .q4_1: multiplyPair(Dot.self, Q4_1Tile.self, NibbleSums.self, rows: pair, k: k, tiles: tiles, rows: rows, y: y)
    case .q8_0: multiplyPair(Dot.self, Q8_0Tile.self, ByteSums.self, rows: pair, k: k, tiles: tiles, rows: rows, y: y)
    case .q4Scaled:
      multiplyPair(Dot.self, Q4ScaledTile.self, NibbleSums.self, rows: pair, k: k, tiles: tiles, rows: rows, y: y)
    case .q8Scaled:
      multiplyPair(Dot.self, Q8ScaledTile.self, ByteSums.self, rows: pair, k: k, tiles: tiles, rows: rows, y: y)
    case .f16, .bf16: preconditionFailure("Int8TileMatvec: \(dtype) tiles hold floats (see supports(_:))")
    }
  }

  /// `y[r] = W[r] · row` for the rows `rows` of the tiled matrix (`rows.lowerBound` a multiple of 4).
  private static func multiply<Dot: Int8DotProduct>(
    _ dot: Dot.Type, row: Row, k: Int, tiles: UnsafeRawPointer, dtype: DType, rows: Range<Int>,
    y: UnsafeMutablePointer<Float>
  ) {
    switch QuantizedTiles.Layout(dtype)! {
    case .q4_0: multiply(Dot.self, Q4_0Tile.self, NibbleSums.self, row: row, k: k, tiles: tiles, rows: rows, y: y)
    case .q4_1: multiply(Dot.self, Q4_1Tile.self, NibbleSums.self, row: row, k: k, tiles: tiles, rows: rows, y: y)
    case .q8_0: multiply(Dot.self, Q8_0Tile.self, ByteSums.self, row: row, k: k, tiles: tiles, rows: rows, y: y)
    case .q4Scaled:
      multiply(Dot.self, Q4ScaledTile.self, NibbleSums.self, row: row, k: k, tiles: tiles, rows: rows, y: y)
    case .q8Scaled: multiply(Dot.self, Q8ScaledTile.self, ByteSums.self, row: row, k: k, tiles: tiles, rows: rows, y: y)
    case .f16, .bf16: preconditionFailure("Int8TileMatvec: \(dtype) tiles hold floats (see supports(_:))")
    }
  }

  /// The loop over a matrix's tiles for one activation row, block by block: `Sums` says how a
  /// format's codes are read (``NibbleSums`` for q4_0, q4_1 and q4_k, ``ByteSums`` for q8_0's
  /// and ``Q8ScaledTile``'s signed bytes).
  private static func multiply<Dot: Int8DotProduct, Format: QuantizedTileFormat, Sums: TileSums>(
    _ dot: Dot.Type, _ format: Format.Type, _ sums: Sums.Type, row: Row, k: Int, tiles: UnsafeRawPointer,
    rows: Range<Int>, y: UnsafeMutablePointer<Float>
  ) {
    precondition(rows.lowerBound % QuantizedTiles.rows == 0, "Int8TileMatvec: rows start at \(rows.lowerBound)")
    let blocks = k / 32, tileBytes = blocks * Format.bytes
    for first in stride(from: rows.lowerBound, to: rows.upperBound, by: QuantizedTiles.rows) {
      var p = tiles + first / QuantizedTiles.rows * tileBytes
      var sums = Sums()
      for block in 0..<blocks {
        QuantizedTiles.prefetchAhead(of: p, bytes: Format.bytes)
        sums.add(Dot.self, Sums.Block(Format.self, at: p), row: row, block: block)
        p += Format.bytes
      }
      sums.store(to: y, first: first, rows: rows)
    }
  }

  /// ``multiply(_:_:_:row:k:tiles:rows:y:)`` for two activation rows at once (prefill): each tile
  /// block is loaded (its codes split into nibbles, its scales widened) once for both.
  private static func multiplyPair<Dot: Int8DotProduct, Format: QuantizedTileFormat, Sums: TileSums>(
    _ dot: Dot.Type, _ format: Format.Type, _ sums: Sums.Type, rows pair: (Row, Row), k: Int,
    tiles: UnsafeRawPointer, rows: Range<Int>, y: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)
  ) {
    precondition(rows.lowerBound % QuantizedTiles.rows == 0, "Int8TileMatvec: rows start at \(rows.lowerBound)")
    let blocks = k / 32, tileBytes = blocks * Format.bytes
    for first in stride(from: rows.lowerBound, to: rows.upperBound, by: QuantizedTiles.rows) {
      var p = tiles + first / QuantizedTiles.rows * tileBytes
      var sums = (Sums(), Sums())
      for block in 0..<blocks {
        let tile = Sums.Block(Format.self, at: p)
        sums.0.add(Dot.self, tile, row: pair.0, block: block)
        sums.1.add(Dot.self, tile, row: pair.1, block: block)
        p += Format.bytes
      }
      sums.0.store(to: y.0, first: first, rows: rows)
      sums.1.store(to: y.1, first: first, rows: rows)
    }
  }

  /// `[a × 4, b × 4, c × 4, d × 4]`.
  @inline(__always)
  fileprivate static func halvesEach(_ a: Float, _ b: Float, _ c: Float, _ d: Float) -> SIMD16<Float> {
    SIMD16(
      lowHalf: SIMD8(lowHalf: SIMD4(repeating: a), highHalf: SIMD4(repeating: b)),
      highHalf: SIMD8(lowHalf: SIMD4(repeating: c), highHalf: SIMD4(repeating: d)))
  }

  /// `[a × 8, b × 8]`.
  @inline(__always)
  fileprivate static func eightLanesEach(_ a: Float, _ b: Float) -> SIMD16<Float> {
    SIMD16(lowHalf: SIMD8(repeating: a), highHalf: SIMD8(repeating: b))
  }
}

/// One q4 tile block (four rows of 32 four-bit codes) as the int8 kernels read it: the rows'
/// low and high nibbles (elements 0–15 and 16–31), their scales spread over each row's four
/// lanes, and their offsets.
private struct NibbleTileBlock: TileBlock {
  var low: SIMD8<UInt64>
  var high: SIMD8<UInt64>
  let laneScales: SIMD16<Float>
  let offsets: SIMD4<Float>

  /// The tile block of `format` at `p`.
  @inline(__always)
  init<Format: QuantizedTileFormat>(_ format: Format.Type, at p: UnsafeRawPointer) {
    let nibble = SIMD8<UInt64>(repeating: 0x0F0F_0F0F_0F0F_0F0F)
    let codes = (p + Format.codesOffset).loadUnaligned(as: SIMD8<UInt64>.self)
    let (scales, offsets) = Format.scalesAndOffsets(p)
    (low, high, self.offsets) = (codes & nibble, codes &>> 4 & nibble, offsets)
    var spread = SIMD16<Float>()
    for lane in 0..<16 { spread[lane] = scales[lane / 4] }  // one `vpermps`
    laneScales = spread
  }
}

/// One activation row's running sums against a tile of four weight rows, for one way of storing
/// codes: the tile block it reads (``Block``), how a block adds in, and the four results.
private protocol TileSums {
  /// A tile block as these sums read it.
  associatedtype Block: TileBlock
  /// Zero.
  init()
  /// Adds block `block` of `row` times `tile`.
  mutating func add<Dot: Int8DotProduct>(_ dot: Dot.Type, _ tile: Block, row: Int8TileMatvec.Row, block: Int)
  /// Writes the four rows' results (those below `rows.upperBound`) to `y[first …]`.
  func store(to y: UnsafeMutablePointer<Float>, first: Int, rows: Range<Int>)
}

/// A tile block loaded for the int8 kernels.
private protocol TileBlock {
  /// The tile block of `format` at `p`.
  init<Format: QuantizedTileFormat>(_ format: Format.Type, at p: UnsafeRawPointer)
}

/// One tile block of signed byte codes (``Q8_0Tile``, or ``Q8ScaledTile`` with a scale per 16
/// weights and an offset) as the int8 kernels read it: rows 0–1 and rows 2–3 in one register
/// each, the rows' scales of elements 0–15 and 16–31 (equal for q8_0), and their offsets.
private struct ByteTileBlock: TileBlock {
  var rows01: SIMD8<UInt64>
  var rows23: SIMD8<UInt64>
  let lowScales: SIMD4<Float>
  let highScales: SIMD4<Float>
  let offsets: SIMD4<Float>
  /// Whether the halves' scales differ (``QuantizedTileFormat/splitsScales``).
  let splitsScales: Bool
  /// Whether ``offsets`` are used (``QuantizedTileFormat/hasOffset``).
  let hasOffset: Bool

  /// The tile block of `format` at `p`.
  @inline(__always)
  init<Format: QuantizedTileFormat>(_ format: Format.Type, at p: UnsafeRawPointer) {
    rows01 = (p + Format.codesOffset).loadUnaligned(as: SIMD8<UInt64>.self)
    rows23 = (p + Format.codesOffset + 64).loadUnaligned(as: SIMD8<UInt64>.self)
    (lowScales, highScales) = Format.halfScales(p)
    offsets = Format.hasOffset ? Format.scalesAndOffsets(p).1 : SIMD4()
    (splitsScales, hasOffset) = (Format.splitsScales, Format.hasOffset)
  }
}

/// One activation row's running sums against a tile of byte codes: eight lanes a row of block
/// products scaled by both block scales (four lanes a half where the halves' scales differ), and
/// the offsets and the instructions' code bias taken off through the blocks' scaled sums.
private struct ByteSums: TileSums {
  var front = SIMD16<Float>()
  var back = SIMD16<Float>()
  var offsets = SIMD4<Float>()

  /// Adds block `block` of `row` times `tile`.
  @inline(__always)
  mutating func add<Dot: Int8DotProduct>(_ dot: Dot.Type, _ tile: ByteTileBlock, row: Int8TileMatvec.Row, block: Int) {
    var tile = tile
    let (low, high) = (tile.lowScales, tile.highScales)
    if tile.hasOffset { offsets = offsets.addingProduct(tile.offsets, row.scaledSums[block]) }
    if Dot.signedBias != 0 {
      if tile.splitsScales {
        let lowSum = row.lowSums[block]
        offsets = offsets.addingProduct(-Dot.signedBias * low, lowSum)
          .addingProduct(-Dot.signedBias * high, row.scaledSums[block] - lowSum)
      } else {
        offsets = offsets.addingProduct(-Dot.signedBias * low, row.scaledSums[block])
      }
    }
    var integer01 = SIMD16<Int32>(), integer23 = SIMD16<Int32>()
    let activations = row.spread + block * 64
    Dot.signed(&integer01, &tile.rows01, activations)
    Dot.signed(&integer23, &tile.rows23, activations)
    let scale = row.scales[block]
    let (lows, highs) = (low * scale, high * scale)
    let (frontScales, backScales) =
      tile.splitsScales
      ? (
        Int8TileMatvec.halvesEach(lows[0], highs[0], lows[1], highs[1]),
        Int8TileMatvec.halvesEach(lows[2], highs[2], lows[3], highs[3])
      )
      : (Int8TileMatvec.eightLanesEach(lows[0], lows[1]), Int8TileMatvec.eightLanesEach(lows[2], lows[3]))
    front = front.addingProduct(SIMDConversions.float(integer01), frontScales)
    back = back.addingProduct(SIMDConversions.float(integer23), backScales)
  }

  /// Writes the four rows' results (those below `rows.upperBound`) to `y[first …]`.
  @inline(__always)
  func store(to y: UnsafeMutablePointer<Float>, first: Int, rows: Range<Int>) {
    let result =
      offsets + SIMD4(front.lowHalf.sum(), front.highHalf.sum(), back.lowHalf.sum(), back.highHalf.sum())
    for lane in 0..<Swift.min(QuantizedTiles.rows, rows.upperBound - first) { y[first + lane] = result[lane] }
  }
}

/// One activation row's running sums against a tile of four weight rows: four lanes a row of
/// block products scaled by both block scales, and the offsets through the blocks' scaled sums.
private struct NibbleSums: TileSums {
  var lanes = SIMD16<Float>()
  var offsets = SIMD4<Float>()

  /// Adds block `block` of `row` times `tile`.
  @inline(__always)
  mutating func add<Dot: Int8DotProduct>(_ dot: Dot.Type, _ tile: NibbleTileBlock, row: Int8TileMatvec.Row, block: Int)
  {
    var tile = tile
    offsets = offsets.addingProduct(tile.offsets, row.scaledSums[block])
    var integer = SIMD16<Int32>()
    Dot.nibbles(&integer, &tile.low, &tile.high, row.spread + block * 128)
    lanes = lanes.addingProduct(SIMDConversions.float(integer), tile.laneScales * row.scales[block])
  }

  /// Writes the four rows' results (those below `rows.upperBound`) to `y[first …]`.
  @inline(__always)
  func store(to y: UnsafeMutablePointer<Float>, first: Int, rows: Range<Int>) {
    var result = offsets
    for lane in 0..<4 {
      result[lane] += lanes[4 * lane] + lanes[4 * lane + 1] + lanes[4 * lane + 2] + lanes[4 * lane + 3]
    }
    for lane in 0..<Swift.min(QuantizedTiles.rows, rows.upperBound - first) { y[first + lane] = result[lane] }
  }
}

/// A 64-byte integer dot product into 16 int32 lanes, four bytes a lane: the instructions an
/// ``Int8TileMatvec`` kernel is specialised for.
private protocol Int8DotProduct {
  /// `acc[i] += Σ_j (l[4i + j] · x[4i + j] + h[4i + j] · x[64 + 4i + j])` for unsigned four-bit
  /// codes `l` (`low`) and `h` (`high`) and the signed codes `x` at `activations`.
  static func nibbles(
    _ acc: inout SIMD16<Int32>, _ low: inout SIMD8<UInt64>, _ high: inout SIMD8<UInt64>,
    _ activations: UnsafeRawPointer)
  /// `acc[i] += Σ_j (w[4i + j] + signedBias) · x[4i + j]` for signed codes `w` and `x`.
  static func signed(_ acc: inout SIMD16<Int32>, _ codes: inout SIMD8<UInt64>, _ activations: UnsafeRawPointer)
  /// What ``signed(_:_:_:)`` adds to every weight code before multiplying.
  static var signedBias: Float { get }
}

/// `vpdpbusd` (unsigned × signed): signed weights are made unsigned by adding 128.
private enum VNNI512: Int8DotProduct {
  static let signedBias: Float = 128

  @inline(__always)
  static func nibbles(
    _ acc: inout SIMD16<Int32>, _ low: inout SIMD8<UInt64>, _ high: inout SIMD8<UInt64>,
    _ activations: UnsafeRawPointer
  ) {
    tessera_dpbusd_512(&acc, &low, activations)
    tessera_dpbusd_512(&acc, &high, activations + 64)
  }

  @inline(__always)
  static func signed(_ acc: inout SIMD16<Int32>, _ codes: inout SIMD8<UInt64>, _ activations: UnsafeRawPointer) {
    var unsigned = codes ^ SIMD8(repeating: 0x8080_8080_8080_8080)  // w + 128 for every signed byte w
    tessera_dpbusd_512(&acc, &unsigned, activations)
  }
}

/// `vpmaddubsw` + `vpmaddwd` (a four-bit block's two halves summed as int16 before the one
/// `vpmaddwd`), with `vpsignb` for signed weights: exact, no bias.
private enum AVX2: Int8DotProduct {
  static let signedBias: Float = 0

  @inline(__always)
  static func nibbles(
    _ acc: inout SIMD16<Int32>, _ low: inout SIMD8<UInt64>, _ high: inout SIMD8<UInt64>,
    _ activations: UnsafeRawPointer
  ) {
    tessera_dot_u4s8_pair_avx2(&acc, &low, activations, &high, activations + 64)
  }

  @inline(__always)
  static func signed(_ acc: inout SIMD16<Int32>, _ codes: inout SIMD8<UInt64>, _ activations: UnsafeRawPointer) {
    tessera_dot_s8s8_avx2(&acc, &codes, activations)
  }
}
