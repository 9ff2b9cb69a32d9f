/// f16 tile block: four rows of 32 halves, widened in registers (`vcvtph2ps` where the build
/// targets F16C). The weights are the values themselves: scale 1, no offset, so every product
/// is the f32 activation times the exactly widened weight, as the reference's `cast` gives it.
enum F16Tile: QuantizedTileFormat {
  static let bytes = 256
  static let codesOffset = 0
  static let hasOffset = false
  @inline(__always)
  static func scalesAndOffsets(_ p: UnsafeRawPointer) -> (SIMD4<Float>, SIMD4<Float>) {
    (SIMD4(repeating: 1), SIMD4())
  }
  @inline(__always)
  static func codes(_ p: UnsafeRawPointer, lane: Int) -> (SIMD16<Float>, SIMD16<Float>) {
    let row = p + lane * 64
    return (
      SIMDConversions.widen(row.loadUnaligned(as: SIMD16<Float16>.self)),
      SIMDConversions.widen(row.loadUnaligned(fromByteOffset: 32, as: SIMD16<Float16>.self))
    )
  }
}

/// bf16 tile block: four rows of 32 bfloat16 values, widened by a 16-bit shift (exact).
enum BF16Tile: QuantizedTileFormat {
  static let bytes = 256
  static let codesOffset = 0
  static let hasOffset = false
  @inline(__always)
  static func scalesAndOffsets(_ p: UnsafeRawPointer) -> (SIMD4<Float>, SIMD4<Float>) {
    (SIMD4(repeating: 1), SIMD4())
  }
  @inline(__always)
  static func codes(_ p: UnsafeRawPointer, lane: Int) -> (SIMD16<Float>, SIMD16<Float>) {
    let row = p + lane * 64
    return (
      SIMDConversions.widenBrain(row.loadUnaligned(as: SIMD16<UInt16>.self)),
      SIMDConversions.widenBrain(row.loadUnaligned(fromByteOffset: 32, as: SIMD16<UInt16>.self))
    )
  }
}
