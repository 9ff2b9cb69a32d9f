/// The reference decode of GGUF block-quantized storage: every format through its one
/// description in ``BlockFormat`` (DESIGN.md, numerics contract).
public enum Quantization {
  /// Decodes `count` elements (whole blocks) of `dtype` blocks from `bytes` into `Float`s, as
  /// ``BlockFormat/value`` defines them.
  public static func dequantize(_ bytes: [UInt8], dtype: DType, count: Int) -> [Float] {
    guard let format = dtype.blockFormat else { preconditionFailure("dequantize: \(dtype) is not quantized") }
    precondition(count % format.elements == 0 && bytes.count >= count / format.elements * format.bytes)
    return bytes.withUnsafeBytes { format.decode($0, count: count) }
  }
}
