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
/// q4_1, q8_0, q5_0, q4_k, q5_k or q6_k blocks along `k` (GGUF's layout: each output row's
/// weights are contiguous).
/// A few activation rows (decode) run ``QuantizedMatvec``, which decodes blocks in registers;
/// more rows (prefill) decode each group of four weight rows once into a scratch tile that all
/// rows share. Threads split the output columns. Given the weights also as
/// ``QuantizedTiles``, the f32-activation mode reads the tiles instead (one stream), and so does
/// the int8-activation mode where ``Int8TileMatvec`` runs (AVX-512 VNNI or AVX2). q5_0, q4_k,
/// q5_k and q6_k are read only as tiles (``QuantizedTiles/onlyTiled(_:)``): repacked for the call when not
/// given, and in the int8-activation mode on a CPU without ``Int8TileMatvec`` multiplied with f32
/// activations.
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
    precondition(dtype.isQuantized && k % 32 == 0, "QuantizedMatmul: \(dtype) with k = \(k)")
    guard m > 0 && n > 0 else { return }
    if tiles == nil && QuantizedTiles.onlyTiled(dtype) {
      let scratch = UnsafeMutableRawPointer.allocate(
        byteCount: QuantizedTiles.byteCount(n: n, k: k, dtype: dtype), alignment: 64)
      defer { scratch.deallocate() }
      QuantizedTiles.repack(weights, n: n, k: k, dtype: dtype, into: scratch, pool: pool)
      multiply(
        x: x, m: m, k: k, weights: weights, dtype: dtype, n: n, y: y, precision: precision, pool: pool,
        tiles: UnsafeRawPointer(scratch))
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
        for i in 0..<m {
          let sums = DotProducts.fourRows(shared.x + i * k, scratch, k: k)
          for r in 0..<count { shared.y[i * n + column + r] = sums[r] }
        }
        column += count
      }
    }
  }
}

/// Dot products of one f32 row with four decoded weight rows, SIMD16 with FMA.
enum DotProducts {
  /// `[x·w0, x·w1, x·w2, x·w3]` where the rows `w0…w3` lie `k` floats apart from `w`; `k` is a
  /// multiple of 16.
  @inline(__always)
  static func fourRows(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, k: Int) -> SIMD4<Float> {
    let xv = UnsafeRawPointer(x), wv = UnsafeRawPointer(w), rowBytes = k * 4
    var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
    for offset in stride(from: 0, to: rowBytes, by: 64) {
      let v = xv.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
      a0 = a0.addingProduct(v, wv.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self))
      a1 = a1.addingProduct(v, wv.loadUnaligned(fromByteOffset: offset + rowBytes, as: SIMD16<Float>.self))
      a2 = a2.addingProduct(v, wv.loadUnaligned(fromByteOffset: offset + 2 * rowBytes, as: SIMD16<Float>.self))
      a3 = a3.addingProduct(v, wv.loadUnaligned(fromByteOffset: offset + 3 * rowBytes, as: SIMD16<Float>.self))
    }
    return SIMD4(a0.sum(), a1.sum(), a2.sum(), a3.sum())
  }
}

/// Operand pointers shared with worker threads. `@unchecked Sendable`: `x` and the weights are
/// only read, and each thread writes its own columns of `y`.
struct QuantizedOperands: @unchecked Sendable {
  let x: UnsafePointer<Float>
  let weights: UnsafeRawPointer
  let y: UnsafeMutablePointer<Float>
}
