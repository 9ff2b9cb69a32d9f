import TesseraIR

/// The f32-activation matrix-vector product `y = W·x` over GGUF-quantized rows, decoding every
/// block in registers as it streams past: ``QuantizedBlockFormat/rowsPerPass`` weight rows at a
/// time (four share each load of `x` and the f16 conversions; one keeps a single sequential
/// stream, which q8_0's wider rows need at L3-sized matrices), each block's codes
/// multiplied with `x` and the partial sum scaled by the block's `d` (one FMA per 16 lanes), and
/// the block's offset (q4_0 `-8d`, q4_1 `m`) applied once per block through the precomputed sum
/// of `x` over that block. Mathematically `Σ (code·d + offset)·x`; only the f32 summation order
/// differs from dequantize-then-dot.
enum QuantizedMatvec {
  /// `y[r] = W[r]·x` for the rows `rows` of W (each `k / 32` blocks of `dtype`).
  static func multiply(
    x: UnsafePointer<Float>, k: Int, weights: UnsafeRawPointer, dtype: DType, rows: Range<Int>,
    y: UnsafeMutablePointer<Float>
  ) {
    switch dtype {
    case .q4_0: multiply(Q4_0Format.self, x: x, k: k, weights: weights, rows: rows, y: y)
    case .q4_1: multiply(Q4_1Format.self, x: x, k: k, weights: weights, rows: rows, y: y)
    default: multiply(Q8_0Format.self, x: x, k: k, weights: weights, rows: rows, y: y)
    }
  }

  /// The loop over rows for one block format.
  private static func multiply<Format: QuantizedBlockFormat>(
    _ format: Format.Type, x: UnsafePointer<Float>, k: Int, weights: UnsafeRawPointer, rows: Range<Int>,
    y: UnsafeMutablePointer<Float>
  ) {
    let blocks = k / 32, rowBytes = blocks * Format.bytes
    withUnsafeTemporaryAllocation(of: Float.self, capacity: blocks) { sums in
      let raw = UnsafeRawPointer(x)
      for block in 0..<blocks where Format.hasOffset {
        let low = raw.loadUnaligned(fromByteOffset: block * 128, as: SIMD16<Float>.self)
        sums[block] = (low + raw.loadUnaligned(fromByteOffset: block * 128 + 64, as: SIMD16<Float>.self)).sum()
      }
      guard Format.rowsPerPass == 4 else {
        for row in rows {
          y[row] = oneRow(
            format, x: raw, blockSums: sums.baseAddress!, weights: weights + row * rowBytes, blocks: blocks)
        }
        return
      }
      var row = rows.lowerBound
      while row < rows.upperBound {
        let last = rows.upperBound - 1
        let bases = SIMD4<Int>(row, Swift.min(row + 1, last), Swift.min(row + 2, last), Swift.min(row + 3, last))
        let result = fourRows(
          format, x: raw, blockSums: sums.baseAddress!, weights: weights, bases: bases &* rowBytes, blocks: blocks)
        for lane in 0..<Swift.min(4, rows.upperBound - row) { y[row + lane] = result[lane] }
        row += 4
      }
    }
  }

  /// Dot products of `x` with the four weight rows starting `bases` bytes into `weights`.
  @inline(__always)
  private static func fourRows<Format: QuantizedBlockFormat>(
    _ format: Format.Type, x: UnsafeRawPointer, blockSums: UnsafePointer<Float>, weights: UnsafeRawPointer,
    bases: SIMD4<Int>, blocks: Int
  ) -> SIMD4<Float> {
    var (r0, r1, r2, r3) = (weights + bases[0], weights + bases[1], weights + bases[2], weights + bases[3])
    var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
    var offsets = SIMD4<Float>()
    var xp = x
    for block in 0..<blocks {
      let low = xp.loadUnaligned(as: SIMD16<Float>.self)
      let high = xp.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
      let (w0, w1, w2, w3) = (Format.block(at: r0), Format.block(at: r1), Format.block(at: r2), Format.block(at: r3))
      a0 = a0.addingProduct((w0.low * low).addingProduct(w0.high, high), SIMD16(repeating: w0.scale))
      a1 = a1.addingProduct((w1.low * low).addingProduct(w1.high, high), SIMD16(repeating: w1.scale))
      a2 = a2.addingProduct((w2.low * low).addingProduct(w2.high, high), SIMD16(repeating: w2.scale))
      a3 = a3.addingProduct((w3.low * low).addingProduct(w3.high, high), SIMD16(repeating: w3.scale))
      if Format.hasOffset {
        offsets = offsets.addingProduct(SIMD4(w0.offset, w1.offset, w2.offset, w3.offset), blockSums[block])
      }
      r0 += Format.bytes
      r1 += Format.bytes
      r2 += Format.bytes
      r3 += Format.bytes
      xp += 128
    }
    return SIMD4(a0.sum(), a1.sum(), a2.sum(), a3.sum()) + offsets
  }

  /// Dot product of `x` with the weight row at `row`: one sequential stream, even and odd blocks
  /// in separate accumulators.
  @inline(__always)
  private static func oneRow<Format: QuantizedBlockFormat>(
    _ format: Format.Type, x: UnsafeRawPointer, blockSums: UnsafePointer<Float>, weights row: UnsafeRawPointer,
    blocks: Int
  ) -> Float {
    var even = SIMD16<Float>(), odd = SIMD16<Float>()
    var offsets = SIMD2<Float>()
    var block = 0
    while block + 2 <= blocks {
      let w0 = Format.block(at: row + block * Format.bytes), w1 = Format.block(at: row + (block + 1) * Format.bytes)
      let x0 = x + block * 128
      let p0 = (w0.low * x0.loadUnaligned(as: SIMD16<Float>.self)).addingProduct(
        w0.high, x0.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self))
      let p1 = (w1.low * x0.loadUnaligned(fromByteOffset: 128, as: SIMD16<Float>.self)).addingProduct(
        w1.high, x0.loadUnaligned(fromByteOffset: 192, as: SIMD16<Float>.self))
      even = even.addingProduct(p0, SIMD16(repeating: w0.scale))
      odd = odd.addingProduct(p1, SIMD16(repeating: w1.scale))
      if Format.hasOffset {
        offsets = offsets.addingProduct(SIMD2(w0.offset, w1.offset), SIMD2(blockSums[block], blockSums[block + 1]))
      }
      block += 2
    }
    if block < blocks {
      let w = Format.block(at: row + block * Format.bytes), xb = x + block * 128
      let p = (w.low * xb.loadUnaligned(as: SIMD16<Float>.self)).addingProduct(
        w.high, xb.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self))
      even = even.addingProduct(p, SIMD16(repeating: w.scale))
      if Format.hasOffset { offsets[0] = offsets[0].addingProduct(w.offset, blockSums[block]) }
    }
    return (even + odd).sum() + offsets.sum()
  }
}
