import CTesseraSIMD
import TesseraIR

/// How a quantized matmul treats its activations (DESIGN.md, numerics contract).
public enum QuantizedPrecision: String, Sendable, Hashable, CaseIterable {
  /// The mode every target shares: weights dequantized exactly as ``Quantization/dequantize``,
  /// activations kept in f32, f32 accumulation.
  case f32Activations = "f32-activations"
  /// Opt-in, as llama.cpp does: each 32-element block of an activation row is quantized to int8
  /// with scale `max|x| / 127` (round to nearest), and each block's dot product is an exact
  /// integer sum scaled by both block scales (q4_1's minimum times the block's quantized sum).
  case int8Activations = "int8-activations"
}

/// Matmuls against GGUF-quantized weights: `y[m×n] = x[m×k] · Wᵀ` where `W` is `n × k` in q4_0,
/// q4_1, q8_0, q5_0, q5_1, q3_k, q4_k, q5_k or q6_k blocks along `k` (GGUF's layout: each output
/// row's weights are contiguous).
/// A few activation rows (decode) run ``QuantizedMatvec``, which decodes blocks in registers;
/// more rows (prefill) decode each group of four weight rows once into a scratch tile that all
/// rows share. Threads split the output columns. Given the weights also as
/// ``QuantizedTiles``, the f32-activation mode reads the tiles instead (one stream), and so does
/// the int8-activation mode where ``Int8TileMatvec`` runs (AVX-512 VNNI or AVX2). q5_0, q5_1,
/// q3_k, q4_k, q5_k and q6_k are read only as tiles (``QuantizedTiles/onlyTiled(_:)``): repacked
/// for the call when not given, and in the int8-activation mode on a CPU without
/// ``Int8TileMatvec`` multiplied with f32 activations. f16 and bf16 weights are read as tiles
/// too, always with f32 activations.
public enum QuantizedMatmul {
  /// Activation rows up to which each row streams the weights itself: beyond it, decoding a
  /// weight row once into scratch and reusing it costs less than decoding it per row.
  static let streamingRows = 3

  /// Computes `y = x · Wᵀ`. `k` must be a multiple of 32; `weights` holds `n · k / 32` blocks;
  /// `tiles`, when given, the same matrix repacked by ``QuantizedTiles/repack(_:n:k:dtype:into:pool:)``.
  public static func multiply(
    x: UnsafePointer<Float>, m: Int, k: Int, weights: UnsafeRawPointer, dtype: DType, n: Int,
    y: UnsafeMutablePointer<Float>, precision: QuantizedPrecision = .f32Activations, pool: CPUThreadPool = .shared,
    tiles: UnsafeRawPointer? = nil
  ) {
    multiply(
      x: x, m: m, k: k, weights: weights, dtype: dtype, n: n, y: y, precision: precision, pool: pool, tiles: tiles,
      sixteenLanes: tessera_vectors_are_512_bit() != 0)
  }

  /// ``multiply(x:m:k:weights:dtype:n:y:precision:pool:tiles:)`` with the f32 prefill's dot
  /// products in `SIMD16` or `SIMD8` sums (``DotProducts``; tests run both on any CPU).
  static func multiply(
    x: UnsafePointer<Float>, m: Int, k: Int, weights: UnsafeRawPointer, dtype: DType, n: Int,
    y: UnsafeMutablePointer<Float>, precision: QuantizedPrecision, pool: CPUThreadPool, tiles: UnsafeRawPointer?,
    sixteenLanes: Bool
  ) {
    precondition(
      (dtype.isQuantized || QuantizedTiles.supports(dtype)) && k % 32 == 0, "QuantizedMatmul: \(dtype) with k = \(k)")
    guard m > 0 && n > 0 else { return }
    if tiles == nil && QuantizedTiles.onlyTiled(dtype) {
      let scratch = UnsafeMutableRawPointer.allocate(
        byteCount: QuantizedTiles.byteCount(n: n, k: k, dtype: dtype), alignment: 64)
      defer { scratch.deallocate() }
      QuantizedTiles.repack(weights, n: n, k: k, dtype: dtype, into: scratch, pool: pool)
      multiply(
        x: x, m: m, k: k, weights: weights, dtype: dtype, n: n, y: y, precision: precision, pool: pool,
        tiles: UnsafeRawPointer(scratch), sixteenLanes: sixteenLanes)
      return
    }
    if precision == .int8Activations {
      if let tiles, Int8TileMatvec.supports(dtype) {
        Int8TileMatvec.multiply(x: x, m: m, k: k, tiles: tiles, dtype: dtype, n: n, y: y, pool: pool)
        return
      }
      if QuantizedBlocks.readsInPlace(dtype) {
        Int8ActivationMatmul.multiply(x: x, m: m, k: k, weights: weights, dtype: dtype, n: n, y: y, pool: pool)
        return
      }
    }
    let tiled = tiles != nil && QuantizedTiles.supports(dtype)
    let shared = QuantizedOperands(x: x, weights: tiled ? tiles! : weights, y: y)
    let threads = m * n * k < 64 * 1024 ? CPUThreadPool.single : pool
    if m <= streamingRows, tiled {
      SharedActivationMatvec.multiply(
        x: x, m: m, k: k, matrices: [.init(tiles: tiles!, dtype: dtype, n: n, y: y)], precision: .f32Activations,
        pool: pool)
      return
    }
    if m <= streamingRows {
      threads.forEachChunk(of: n, grain: QuantizedTiles.rows) { columns in
        for i in 0..<m {
          QuantizedMatvec.multiply(
            x: shared.x + i * k, k: k, weights: shared.weights, dtype: dtype, rows: columns, y: shared.y + i * n)
        }
      }
      return
    }
    let rowBytes = k / 32 * QuantizedBlocks.blockBytes(dtype)
    threads.forEachChunk(of: n, grain: QuantizedTiles.rows) { columns in
      let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 4 * k)
      defer { scratch.deallocate() }
      var column = columns.lowerBound
      while column < columns.upperBound {
        let count = Swift.min(4, columns.upperBound - column)
        if tiled {
          QuantizedTiles.decodeTile(
            shared.weights, tile: column / QuantizedTiles.rows, k: k, dtype: dtype, into: scratch)
        } else {
          for r in 0..<count {
            QuantizedBlocks.decodeRow(
              shared.weights + (column + r) * rowBytes, k: k, dtype: dtype, into: scratch + r * k)
          }
        }
        for r in count..<4 { (scratch + r * k).update(from: scratch, count: k) }
        DotProducts.rowsByFour(
          shared.x, m: m, scratch, k: k, y: shared.y + column, ldy: n, columns: count, sixteenLanes: sixteenLanes)
        column += count
      }
    }
  }
}

/// Dot products of f32 activation rows with four decoded weight rows (the f32-activation
/// prefill). Two activation rows at a time: eight independent sums, enough to keep both FMA
/// pipes busy through the FMA latency (one row's four sums waited on it), and six loads per
/// eight FMAs instead of five per four. Sums are `SIMD16` where the code is built for 512-bit
/// vectors and `SIMD8` otherwise (sixteen ymm sums would not fit AVX2's registers).
enum DotProducts {
  /// `y[i * ldy + r] = x[i] · w[r]` for the `m` rows of `x` (`k` floats apart) and the first
  /// `columns` of the four rows of `w` (`k` floats apart); `k` is a multiple of 16.
  static func rowsByFour(
    _ x: UnsafePointer<Float>, m: Int, _ w: UnsafePointer<Float>, k: Int, y: UnsafeMutablePointer<Float>, ldy: Int,
    columns: Int, sixteenLanes: Bool
  ) {
    if sixteenLanes {
      rowsByFour(SIMD16<Float>.self, x, m: m, w, k: k, y: y, ldy: ldy, columns: columns)
    } else {
      rowsByFour(SIMD8<Float>.self, x, m: m, w, k: k, y: y, ldy: ldy, columns: columns)
    }
  }

  /// ``rowsByFour(_:m:_:k:y:ldy:columns:sixteenLanes:)`` with sums of `Lanes`.
  private static func rowsByFour<Lanes: SIMD>(
    _ lanes: Lanes.Type, _ x: UnsafePointer<Float>, m: Int, _ w: UnsafePointer<Float>, k: Int,
    y: UnsafeMutablePointer<Float>, ldy: Int, columns: Int
  ) where Lanes.Scalar == Float {
    var i = 0
    while i < m {
      // An odd last row is paired with itself.
      let second = Swift.min(i + 1, m - 1)
      let (first, other) = twoByFour(Lanes.self, x + i * k, x + second * k, w, k: k)
      for r in 0..<columns {
        y[i * ldy + r] = first[r]
        y[second * ldy + r] = other[r]
      }
      i += 2
    }
  }

  /// `([x0·w0 … x0·w3], [x1·w0 … x1·w3])`.
  @inline(__always)
  private static func twoByFour<Lanes: SIMD>(
    _ lanes: Lanes.Type, _ x0: UnsafePointer<Float>, _ x1: UnsafePointer<Float>, _ w: UnsafePointer<Float>, k: Int
  ) -> (SIMD4<Float>, SIMD4<Float>) where Lanes.Scalar == Float {
    let step = MemoryLayout<Lanes>.size, rowBytes = k * 4
    let (u, v, wv) = (UnsafeRawPointer(x0), UnsafeRawPointer(x1), UnsafeRawPointer(w))
    var a0 = Lanes(), a1 = Lanes(), a2 = Lanes(), a3 = Lanes()
    var b0 = Lanes(), b1 = Lanes(), b2 = Lanes(), b3 = Lanes()
    for offset in stride(from: 0, to: rowBytes, by: step) {
      let p = u.loadUnaligned(fromByteOffset: offset, as: Lanes.self)
      let q = v.loadUnaligned(fromByteOffset: offset, as: Lanes.self)
      let w0 = wv.loadUnaligned(fromByteOffset: offset, as: Lanes.self)
      let w1 = wv.loadUnaligned(fromByteOffset: offset + rowBytes, as: Lanes.self)
      let w2 = wv.loadUnaligned(fromByteOffset: offset + 2 * rowBytes, as: Lanes.self)
      let w3 = wv.loadUnaligned(fromByteOffset: offset + 3 * rowBytes, as: Lanes.self)
      a0 = a0.addingProduct(p, w0)
      a1 = a1.addingProduct(p, w1)
      a2 = a2.addingProduct(p, w2)
      a3 = a3.addingProduct(p, w3)
      b0 = b0.addingProduct(q, w0)
      b1 = b1.addingProduct(q, w1)
      b2 = b2.addingProduct(q, w2)
      b3 = b3.addingProduct(q, w3)
    }
    return (SIMD4(a0.sum(), a1.sum(), a2.sum(), a3.sum()), SIMD4(b0.sum(), b1.sum(), b2.sum(), b3.sum()))
  }
}

/// Operand pointers shared with worker threads. `@unchecked Sendable`: `x` and the weights are
/// only read, and each thread writes its own columns of `y`.
struct QuantizedOperands: @unchecked Sendable {
  let x: UnsafePointer<Float>
  let weights: UnsafeRawPointer
  let y: UnsafeMutablePointer<Float>
}
