/// The GGUF block formats behind `q4_0`, `q4_1` and `q8_0`, decoded exactly as GGUF defines them.
/// Every target dequantizes through the same arithmetic (DESIGN.md, numerics contract).
public enum Quantization {
  /// Decodes `count` elements of `dtype` blocks from `bytes` into `Float`s.
  ///
  /// - q4_0: f16 scale `d`, then 16 bytes; element `j` is `(low nibble of byte j - 8) * d`,
  ///   element `j + 16` is `(high nibble of byte j - 8) * d`.
  /// - q4_1: f16 scale `d`, f16 minimum `m`, then the same nibbles: `nibble * d + m`.
  /// - q8_0: f16 scale `d`, then 32 signed bytes: `q * d`.
  public static func dequantize(_ bytes: [UInt8], dtype: DType, count: Int) -> [Float] {
    guard let block = dtype.quantBlock else { preconditionFailure("dequantize: \(dtype) is not quantized") }
    precondition(count % block.elements == 0 && bytes.count >= count / block.elements * block.bytes)
    var output = [Float](repeating: 0, count: count)
    for blockIndex in 0..<(count / block.elements) {
      let base = blockIndex * block.bytes
      let scale = half(bytes, base)
      let out = blockIndex * block.elements
      switch dtype {
      case .q4_0, .q4_1:
        let minimum: Float = dtype == .q4_1 ? half(bytes, base + 2) : 0
        let offset: Float = dtype == .q4_1 ? 0 : -8
        let quants = base + (dtype == .q4_1 ? 4 : 2)
        for j in 0..<16 {
          let byte = bytes[quants + j]
          output[out + j] = (Float(byte & 0x0F) + offset) * scale + minimum
          output[out + j + 16] = (Float(byte >> 4) + offset) * scale + minimum
        }
      default:  // q8_0
        for j in 0..<32 { output[out + j] = Float(Int8(bitPattern: bytes[base + 2 + j])) * scale }
      }
    }
    return output
  }

  private static func half(_ bytes: [UInt8], _ offset: Int) -> Float {
    Float(Float16(bitPattern: UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8))
  }
}
