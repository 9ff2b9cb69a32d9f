import TesseraIR

/// Matvecs of a few activation rows against several tiled quantized matrices of the same `k`
/// (``QuantizedTiles``): attention's q, k and v projections of one normed input, a
/// feed-forward's gate and up. In the int8-activation mode the rows are quantized once for all
/// the matrices whose tiles read the same layout of codes (``Int8TileMatvec/Row``), not once a
/// matrix; and one parallel region computes every matrix, its threads splitting the matrices'
/// four-row tiles taken one after another, so that a chunk may run across a matrix boundary.
/// Each output element is the sum that a lone ``QuantizedMatmul`` call computes, in the same order.
enum SharedActivationMatvec {
  /// One matrix: its tiles, their format, its `n` output rows and where its `m × n` result goes.
  /// `@unchecked Sendable`: the tiles are only read, and each thread writes its own rows of `y`.
  struct Matrix: @unchecked Sendable {
    /// The tiles of the `n × k` weights.
    let tiles: UnsafeRawPointer
    /// Their block format.
    let dtype: DType
    /// Rows of the weights (columns of the result).
    let n: Int
    /// The result, `m × n`.
    let y: UnsafeMutablePointer<Float>

    /// Four-row tiles of the matrix.
    var tileCount: Int { (n + QuantizedTiles.rows - 1) / QuantizedTiles.rows }
  }

  /// Whether tiles of `dtype` take part for `m` activation rows in `precision`: in the
  /// int8-activation mode where ``Int8TileMatvec`` runs them (any `m`), in the f32-activation
  /// mode for as few rows as stream the weights themselves (``QuantizedMatmul/streamingRows``).
  static func supports(_ dtype: DType, rows m: Int, precision: QuantizedPrecision) -> Bool {
    switch precision {
    case .int8Activations: Int8TileMatvec.supports(dtype)
    case .f32Activations: QuantizedTiles.supports(dtype) && m <= QuantizedMatmul.streamingRows
    }
  }

  /// `matrices[j].y = x · Wⱼᵀ` for the `m × k` activations `x` (`k` a multiple of 32), with
  /// `instructions` in the int8-activation mode (by default the fastest this CPU runs). Only for
  /// matrices where ``supports(_:rows:precision:)`` holds.
  static func multiply(
    x: UnsafePointer<Float>, m: Int, k: Int, matrices: [Matrix], precision: QuantizedPrecision, pool: CPUThreadPool,
    instructions: Int8TileMatvec.Instructions? = nil
  ) {
    let tiles = matrices.reduce(0) { $0 + $1.tileCount }
    let threads = m * matrices.reduce(0) { $0 + $1.n } * k < 64 * 1024 ? CPUThreadPool.single : pool
    switch precision {
    case .f32Activations:
      let input = Activations(x: x)
      threads.forEachChunk(of: tiles) { chunk in
        forEachPiece(of: chunk, in: matrices) { matrix, rows in
          for i in 0..<m {
            QuantizedTiles.multiply(
              x: input.x + i * k, k: k, tiles: matrix.tiles, dtype: matrix.dtype, rows: rows, y: matrix.y + i * matrix.n
            )
          }
        }
      }
    case .int8Activations:
      let instructions = instructions ?? Int8TileMatvec.Instructions.available[0]
      let byteCount = QuantizedRows.byteCount(m: m, k: k, matrices: matrices)
      withUnsafeTemporaryAllocation(byteCount: byteCount, alignment: 64) { memory in
        let quantized = QuantizedRows(x, m: m, k: k, matrices: matrices, into: memory.baseAddress!)
        threads.forEachChunk(of: tiles) { chunk in
          forEachPiece(of: chunk, in: matrices) { matrix, rows in
            Int8TileMatvec.multiply(
              m: m, row: { quantized.row($0, for: matrix.dtype) }, k: k, tiles: matrix.tiles, dtype: matrix.dtype,
              rows: rows, y: matrix.y, ldy: matrix.n, instructions: instructions)
          }
        }
      }
    }
  }

  /// Calls `body` with each matrix that the tiles `chunk` (counted across all the matrices, one
  /// after another) cover part of, and the rows of it they cover.
  private static func forEachPiece(of chunk: Range<Int>, in matrices: [Matrix], _ body: (Matrix, Range<Int>) -> Void) {
    var first = 0
    for matrix in matrices {
      let lower = Swift.max(chunk.lowerBound, first), upper = Swift.min(chunk.upperBound, first + matrix.tileCount)
      if lower < upper {
        body(
          matrix, ((lower - first) * QuantizedTiles.rows)..<Swift.min((upper - first) * QuantizedTiles.rows, matrix.n))
      }
      first += matrix.tileCount
    }
  }
}

/// f32 activation rows shared with worker threads, which only read them.
private struct Activations: @unchecked Sendable {
  let x: UnsafePointer<Float>
}

/// Activation rows quantized once for each layout of codes that the matrices' tiles read
/// (``Int8TileMatvec/Row/spreadBytes(_:)``): the rows for byte codes first, then those for
/// nibbles. `@unchecked Sendable`: written before the threads start, only read by them.
private struct QuantizedRows: @unchecked Sendable {
  private let memory: UnsafeRawPointer
  private let k: Int
  /// Where the rows for nibble codes start.
  private let nibbleOffset: Int

  /// Bytes of `m` rows for each layout that `matrices` read.
  static func byteCount(m: Int, k: Int, matrices: [SharedActivationMatvec.Matrix]) -> Int {
    let (bytes, nibbles) = representatives(matrices)
    func rows(_ dtype: DType?) -> Int { dtype.map { m * Int8TileMatvec.Row.byteCount(k: k, dtype: $0) } ?? 0 }
    return rows(bytes) + rows(nibbles)
  }

  /// Quantizes the `m` rows of `x` into `memory` (``byteCount(m:k:matrices:)`` bytes).
  init(
    _ x: UnsafePointer<Float>, m: Int, k: Int, matrices: [SharedActivationMatvec.Matrix],
    into memory: UnsafeMutableRawPointer
  ) {
    let (bytes, nibbles) = Self.representatives(matrices)
    func quantize(for dtype: DType?, at offset: Int) {
      guard let dtype else { return }
      let rowBytes = Int8TileMatvec.Row.byteCount(k: k, dtype: dtype)
      for i in 0..<m {
        Int8TileMatvec.Row.quantize(x + i * k, k: k, dtype: dtype, into: memory + offset + i * rowBytes)
      }
    }
    self.memory = UnsafeRawPointer(memory)
    self.k = k
    nibbleOffset = bytes.map { m * Int8TileMatvec.Row.byteCount(k: k, dtype: $0) } ?? 0
    quantize(for: bytes, at: 0)
    quantize(for: nibbles, at: nibbleOffset)
  }

  /// Row `i` laid out for weights of `dtype`.
  func row(_ i: Int, for dtype: DType) -> Int8TileMatvec.Row {
    let offset = Self.readsBytes(dtype) ? 0 : nibbleOffset
    return Int8TileMatvec.Row(
      at: memory + offset + i * Int8TileMatvec.Row.byteCount(k: k, dtype: dtype), k: k, dtype: dtype)
  }

  /// The first dtype among `matrices` with byte codes, and the first with nibbles.
  private static func representatives(_ matrices: [SharedActivationMatvec.Matrix]) -> (DType?, DType?) {
    (matrices.first { readsBytes($0.dtype) }?.dtype, matrices.first { !readsBytes($0.dtype) }?.dtype)
  }

  /// Whether tiles of `dtype` hold byte codes (q8_0 and ``Q8ScaledTile``) rather than nibbles.
  private static func readsBytes(_ dtype: DType) -> Bool {
    Int8TileMatvec.Row.spreadBytes(dtype) < Int8TileMatvec.Row.spreadBytes(.q4_0)
  }
}
