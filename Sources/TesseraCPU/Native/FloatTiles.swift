/// A tile block of 16-bit floats: four rows of 32 values, widened in registers. The weights are
/// the values themselves: scale 1, no offset, so every product is the f32 activation times the
/// exactly widened weight, as the reference's `cast` gives it.
protocol SixteenBitTile: QuantizedTileFormat {
  /// The 16 values at `p`, widened to f32.
  static func widen(_ p: UnsafeRawPointer) -> SIMD16<Float>
}

extension SixteenBitTile {
  static var bytes: Int { 256 }
  static var codesOffset: Int { 0 }
  static var hasOffset: Bool { false }
  @inline(__always)
  static func scalesAndOffsets(_ p: UnsafeRawPointer) -> (SIMD4<Float>, SIMD4<Float>) {
    (SIMD4(repeating: 1), SIMD4())
  }
  @inline(__always)
  static func codes(_ p: UnsafeRawPointer, lane: Int) -> (SIMD16<Float>, SIMD16<Float>) {
    (widen(p + lane * 64), widen(p + lane * 64 + 32))
  }
}

/// f16 tile block, widened with `vcvtph2ps` where the build targets F16C.
enum F16Tile: SixteenBitTile {
  @inline(__always)
  static func widen(_ p: UnsafeRawPointer) -> SIMD16<Float> {
    SIMDConversions.widen(p.loadUnaligned(as: SIMD16<Float16>.self))
  }
}

/// bf16 tile block, widened by a 16-bit shift (exact).
enum BF16Tile: SixteenBitTile {
  @inline(__always)
  static func widen(_ p: UnsafeRawPointer) -> SIMD16<Float> {
    SIMDConversions.widenBrain(p.loadUnaligned(as: SIMD16<UInt16>.self))
  }
}
