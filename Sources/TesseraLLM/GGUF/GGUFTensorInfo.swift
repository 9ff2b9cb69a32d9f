import TesseraIR

/// One tensor's entry in a GGUF file: name, dimensions, storage type and where its bytes are.
public struct GGUFTensorInfo: Sendable, Hashable {
  /// The tensor's name, e.g. `blk.0.attn_q.weight`.
  public let name: String
  /// Dimensions in GGUF order, innermost first: `ne[0]` is the row length.
  public let dims: [Int]
  /// The element type: F32, F16 and BF16 map to `f32`, `f16`, `bf16`; each block type in
  /// ``BlockFormat/all`` (Q4_0 … Q6_K) to its dtype.
  public let dtype: DType
  /// Offset of the first byte, relative to the start of the file's tensor data.
  public let offset: Int
  /// Bytes the tensor occupies.
  public let byteCount: Int

  /// The IR shape: GGUF's dims reversed, so a weight with `ne = [K, N]` is `[N, K]`.
  public var shape: Shape { Shape(dims.reversed()) }

  /// The IR type of the tensor.
  public var type: TensorType { TensorType(dtype, shape) }
}

/// The ggml tensor type codes: those this reader supports (the float types and every
/// ``BlockFormat``), and names for the rest so that an error can say which one a file used.
enum GGMLType {
  /// The IR dtype for a supported code.
  static func dtype(code: UInt32) -> DType? {
    switch code {
    case 0: .f32
    case 1: .f16
    case 30: .bf16
    default: BlockFormat.gguf(code)?.dtype
    }
  }

  /// The names of the supported types, for errors.
  static var supportedNames: String {
    (["F32", "F16", "BF16"] + BlockFormat.all.map(\.ggmlName)).joined(separator: ", ")
  }

  /// The ggml name of `dtype` (`F32`, `Q4_1`, `Q4_K`…).
  static func name(of dtype: DType) -> String { dtype.blockFormat?.ggmlName ?? dtype.rawValue.uppercased() }

  /// The ggml name of any code, or `type N` for codes ggml does not define.
  static func name(code: UInt32) -> String {
    let names = [
      "F32", "F16", "Q4_0", "Q4_1", "Q4_2", "Q4_3", "Q5_0", "Q5_1", "Q8_0", "Q8_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K",
      "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS", "I8", "I16",
      "I32", "I64", "F64", "IQ1_M", "BF16",
    ]
    return code < names.count ? names[Int(code)] : "type \(code)"
  }
}
