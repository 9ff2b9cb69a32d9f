import Foundation
import TesseraIR

/// ``QuantizedPrecision/int8Activations``: activations quantized per 32-element block to int8,
/// integer block dot products against the weights' integer codes.
enum Int8ActivationMatmul {
  /// One activation row in blocks: codes, scales `d = max|x| / 127`, and `d · Σ codes`.
  struct QuantizedRow {
    var codes: [Int8]
    var scales: [Float]
    var scaledSums: [Float]
  }

  /// Quantizes a row of `k` floats (k a multiple of 32): `code = round(x / d)`, ties away from
  /// zero, and 0 for an all-zero block.
  static func quantize(_ x: UnsafePointer<Float>, k: Int) -> QuantizedRow {
    let blocks = k / 32
    var row = QuantizedRow(
      codes: [Int8](repeating: 0, count: k), scales: [Float](repeating: 0, count: blocks),
      scaledSums: [Float](repeating: 0, count: blocks))
    row.codes.withUnsafeMutableBytes { codes in
      for block in 0..<blocks {
        let quantized = quantizeBlock(UnsafeRawPointer(x + block * 32))
        codes.storeBytes(of: quantized.low, toByteOffset: block * 32, as: SIMD16<Int8>.self)
        codes.storeBytes(of: quantized.high, toByteOffset: block * 32 + 16, as: SIMD16<Int8>.self)
        row.scales[block] = quantized.scale
        row.scaledSums[block] = quantized.scaledSum
      }
    }
    return row
  }

  /// One block of 32 floats at `x` as int8 codes (elements 0–15 and 16–31), its scale
  /// `d = max|x| / 127` and `d · Σ codes`; `code = round(x / d)`, ties away from zero.
  @inline(__always)
  static func quantizeBlock(_ x: UnsafeRawPointer) -> (
    low: SIMD16<Int8>, high: SIMD16<Int8>, scale: Float, scaledSum: Float
  ) {
    let low = x.loadUnaligned(as: SIMD16<Float>.self),
      high = x.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
    let amax = SIMDConversions.largestMagnitude(low, high)
    let d = amax / 127, inverse: Float = d == 0 ? 0 : 1 / d
    @inline(__always) func codes(_ v: SIMD16<Float>) -> SIMD16<Int32> {
      SIMDConversions.roundedAwayFromZero(v * inverse)
    }
    let lowCodes = codes(low), highCodes = codes(high)
    return (
      SIMD16<Int8>(truncatingIfNeeded: lowCodes), SIMD16<Int8>(truncatingIfNeeded: highCodes), d,
      d * Float((lowCodes &+ highCodes).wrappedSum())
    )
  }

  /// The weight codes of one block (q4_0 already shifted by -8), its scale and its q4_1 minimum.
  @inline(__always)
  static func weightCodes(_ row: UnsafeRawPointer, block: Int, dtype: DType) -> (
    low: SIMD16<Int32>, high: SIMD16<Int32>, scale: Float, minimum: Float
  ) {
    switch dtype {
    case .q4_0, .q4_1:
      let isQ41 = dtype == .q4_1
      let base = row + block * (isQ41 ? 20 : 18)
      let bytes = (base + (isQ41 ? 4 : 2)).loadUnaligned(as: SIMD16<UInt8>.self)
      let shift = SIMD16<Int32>(repeating: isQ41 ? 0 : 8)
      let wide = SIMDConversions.widen(bytes)
      return (
        (wide & 0x0F) &- shift, (wide &>> 4) &- shift,
        QuantizedBlocks.half(base), isQ41 ? QuantizedBlocks.half(base + 2) : 0
      )
    default:  // q8_0
      let base = row + block * 34
      return (
        SIMDConversions.widen((base + 2).loadUnaligned(as: SIMD16<Int8>.self)),
        SIMDConversions.widen((base + 18).loadUnaligned(as: SIMD16<Int8>.self)),
        QuantizedBlocks.half(base), 0
      )
    }
  }

  static func multiply(
    x: UnsafePointer<Float>, m: Int, k: Int, weights: UnsafeRawPointer, dtype: DType, n: Int,
    y: UnsafeMutablePointer<Float>, pool: CPUThreadPool
  ) {
    let rows = (0..<m).map { quantize(x + $0 * k, k: k) }
    let rowBytes = k / 32 * QuantizedBlocks.blockBytes(dtype)
    let shared = QuantizedOperands(x: x, weights: weights, y: y)
    let threads = m * n * k < 64 * 1024 ? CPUThreadPool.single : pool
    threads.forEachChunk(of: n, grain: 4) { columns in
      for column in columns {
        let weightRow = shared.weights + column * rowBytes
        for (i, row) in rows.enumerated() {
          shared.y[i * n + column] = row.codes.withUnsafeBufferPointer { codes in
            dot(weightRow, row, codes.baseAddress!, k: k, dtype: dtype)
          }
        }
      }
    }
  }

  /// One output: the sum over blocks of `dw · dx · Σ qw·qx` (+ `m · dx · Σ qx` for q4_1).
  @inline(__always)
  static func dot(
    _ weightRow: UnsafeRawPointer, _ row: QuantizedRow, _ codes: UnsafePointer<Int8>, k: Int, dtype: DType
  ) -> Float {
    var total: Float = 0
    let raw = UnsafeRawPointer(codes)
    for block in 0..<(k / 32) {
      let w = weightCodes(weightRow, block: block, dtype: dtype)
      let xLow = SIMDConversions.widen(raw.loadUnaligned(fromByteOffset: block * 32, as: SIMD16<Int8>.self))
      let xHigh = SIMDConversions.widen(raw.loadUnaligned(fromByteOffset: block * 32 + 16, as: SIMD16<Int8>.self))
      let integer = (w.low &* xLow &+ w.high &* xHigh).wrappedSum()
      total = total.addingProduct(w.scale * row.scales[block], Float(integer))
      if dtype == .q4_1 { total = total.addingProduct(w.minimum, row.scaledSums[block]) }
    }
    return total
  }
}
