import TesseraIR

/// Decodes one GGUF block (32 weights) into two `SIMD16<Float>` halves with the arithmetic of
/// ``Quantization/dequantize(_:dtype:count:)``: element `j` is `q_j * d + o` where q4_0 has
/// `o = -8d`, q4_1 `o = m` and q8_0 `o = 0` (q4_0 and q8_0 give the same bits as the reference,
/// q4_1 rounds once instead of twice).
enum QuantizedBlocks {
  /// Bytes per block of `dtype` (q4_0 18, q4_1 20, q8_0 34).
  static func blockBytes(_ dtype: DType) -> Int { dtype.quantBlock!.bytes }

  /// The f16 at `pointer`, widened.
  @inline(__always)
  static func half(_ pointer: UnsafeRawPointer) -> Float {
    Float(Float16(bitPattern: pointer.loadUnaligned(as: UInt16.self)))
  }

  /// Block `block` of a row starting at `row`, as 32 floats (`low` is elements 0–15).
  @inline(__always)
  static func decode(_ row: UnsafeRawPointer, block: Int, dtype: DType) -> (low: SIMD16<Float>, high: SIMD16<Float>) {
    switch dtype {
    case .q4_0:
      let base = row + block * 18
      let d = half(base)
      let bytes = (base + 2).loadUnaligned(as: SIMD16<UInt8>.self)
      let low = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: bytes & 0x0F))
      let high = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: bytes &>> 4))
      let scale = SIMD16<Float>(repeating: d), offset = SIMD16<Float>(repeating: -8 * d)
      return (offset.addingProduct(low, scale), offset.addingProduct(high, scale))
    case .q4_1:
      let base = row + block * 20
      let d = half(base), m = half(base + 2)
      let bytes = (base + 4).loadUnaligned(as: SIMD16<UInt8>.self)
      let low = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: bytes & 0x0F))
      let high = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: bytes &>> 4))
      let scale = SIMD16<Float>(repeating: d), offset = SIMD16<Float>(repeating: m)
      return (offset.addingProduct(low, scale), offset.addingProduct(high, scale))
    default:  // q8_0
      let base = row + block * 34
      let d = half(base)
      let low = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: (base + 2).loadUnaligned(as: SIMD16<Int8>.self)))
      let high = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: (base + 18).loadUnaligned(as: SIMD16<Int8>.self)))
      return (low * d, high * d)
    }
  }

  /// Decodes a whole row of `k` weights into `out`.
  static func decodeRow(_ row: UnsafeRawPointer, k: Int, dtype: DType, into out: UnsafeMutablePointer<Float>) {
    let raw = UnsafeMutableRawPointer(out)
    for block in 0..<(k / 32) {
      let (low, high) = decode(row, block: block, dtype: dtype)
      raw.storeBytes(of: low, toByteOffset: block * 128, as: SIMD16<Float>.self)
      raw.storeBytes(of: high, toByteOffset: block * 128 + 64, as: SIMD16<Float>.self)
    }
  }
}
