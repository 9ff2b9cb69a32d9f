/// A row's running sum in the f32 tile kernel (``QuantizedTiles``): one block's 32 codes times
/// its 32 activations, scaled, added per block. `SIMD16<Float>` serves where the code is built
/// for 512-bit vectors; `SIMD8<Float>` where it is not (AVX2: a `SIMD16` sum is two registers,
/// and four rows of them with `x` left too few of AVX2's 16 for the loop's temporaries, so it
/// spilled).
protocol TileAccumulator {
  /// Zero.
  init()
  /// Adds `scale · Σ codes · x` over one block (`codes` and `x`: elements 0–15, then 16–31).
  mutating func add(
    _ codes: (SIMD16<Float>, SIMD16<Float>), times x: (SIMD16<Float>, SIMD16<Float>), scale: Float)
  /// Adds `scales.0 · Σ codes · x` over elements 0–15 and `scales.1 · Σ codes · x` over 16–31.
  mutating func add(
    _ codes: (SIMD16<Float>, SIMD16<Float>), times x: (SIMD16<Float>, SIMD16<Float>), scales: (Float, Float))
  /// The lanes' sum.
  func sum() -> Float
}

/// Sixteen lanes: one 512-bit register.
extension SIMD16<Float>: TileAccumulator {
  @inline(__always)
  mutating func add(
    _ codes: (SIMD16<Float>, SIMD16<Float>), times x: (SIMD16<Float>, SIMD16<Float>), scale: Float
  ) {
    self = addingProduct((codes.0 * x.0).addingProduct(codes.1, x.1), SIMD16(repeating: scale))
  }

  @inline(__always)
  mutating func add(
    _ codes: (SIMD16<Float>, SIMD16<Float>), times x: (SIMD16<Float>, SIMD16<Float>), scales: (Float, Float)
  ) {
    self = addingProduct(codes.0 * x.0, SIMD16(repeating: scales.0))
      .addingProduct(codes.1 * x.1, SIMD16(repeating: scales.1))
  }
}

/// Eight lanes: one 256-bit register; a block's four eight-lane products are summed first
/// (one multiply, three FMAs), then scaled into the sum (one FMA).
extension SIMD8<Float>: TileAccumulator {
  @inline(__always)
  mutating func add(
    _ codes: (SIMD16<Float>, SIMD16<Float>), times x: (SIMD16<Float>, SIMD16<Float>), scale: Float
  ) {
    let block = Self.product(codes.0, x.0).addingProduct(codes.1.lowHalf, x.1.lowHalf)
      .addingProduct(codes.1.highHalf, x.1.highHalf)
    self = addingProduct(block, SIMD8(repeating: scale))
  }

  @inline(__always)
  mutating func add(
    _ codes: (SIMD16<Float>, SIMD16<Float>), times x: (SIMD16<Float>, SIMD16<Float>), scales: (Float, Float)
  ) {
    self = addingProduct(Self.product(codes.0, x.0), SIMD8(repeating: scales.0))
      .addingProduct(Self.product(codes.1, x.1), SIMD8(repeating: scales.1))
  }

  /// `Σ codes · x` of sixteen lanes folded to eight.
  @inline(__always)
  private static func product(_ codes: SIMD16<Float>, _ x: SIMD16<Float>) -> SIMD8<Float> {
    (codes.lowHalf * x.lowHalf).addingProduct(codes.highHalf, x.highHalf)
  }
}
