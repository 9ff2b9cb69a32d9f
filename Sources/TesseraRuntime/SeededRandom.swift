import TesseraIR

/// A small, fast, seedable generator (SplitMix64): the same seed gives the same numbers on every
/// machine, so random inputs in tests, demos and benchmarks are reproducible.
public struct SeededRandom: RandomNumberGenerator, Sendable {
  private var state: UInt64

  /// Starts the sequence for `seed`.
  public init(seed: UInt64) { state = seed }

  /// The next 64 random bits.
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

extension Tensor {
  /// A reproducible random tensor: floats uniform in `[-1, 1)`, integers in `0..<integerBound`,
  /// bools half true; quantized types get random blocks with small finite f16 scales.
  public static func random(_ type: TensorType, integerBound: Int = 4, using generator: inout SeededRandom) -> Tensor {
    if let format = type.dtype.blockFormat {
      var bytes = (0..<type.storageBytes!).map { _ in UInt8.random(in: 0...255, using: &generator) }
      let halves = format.fields.filter { $0.kind == .f16 }
      for start in stride(from: 0, to: bytes.count, by: format.bytes) {
        for field in halves {
          for offset in stride(from: start + field.offset, to: start + field.offset + field.bytes, by: 2) {
            let bits = Float16(Float.random(in: -0.05...0.05, using: &generator)).bitPattern
            bytes[offset] = UInt8(truncatingIfNeeded: bits)
            bytes[offset + 1] = UInt8(truncatingIfNeeded: bits >> 8)
          }
        }
      }
      return Tensor(type: type, bytes: bytes)!
    }
    let values: [Double] = (0..<type.shape.count).map { _ in
      if type.dtype.isFloatingPoint { return Double.random(in: -1..<1, using: &generator) }
      if type.dtype == .bool { return Bool.random(using: &generator) ? 1 : 0 }
      return Double(Int.random(in: 0..<Swift.max(integerBound, 1), using: &generator))
    }
    return Tensor(values, shape: type.shape, dtype: type.dtype)
  }
}
