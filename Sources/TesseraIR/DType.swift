/// The element type of a tensor.
///
/// Plain dtypes (`f32` … `bool`) hold one value per element. The block-quantized storage types
/// (`q4_0` … `q6_k`) pack a block of 32 elements (256 for the K-quants) with its scales exactly
/// as GGUF does, described once in ``BlockFormat``; they appear on weights only and are turned
/// into `f32` by `dequantize`.
public enum DType: String, CaseIterable, Sendable, Hashable, CustomStringConvertible {
  case f32, f16, bf16, i64, i32, i8, u8, bool
  case q4_0, q4_1, q5_0, q5_1, q8_0
  case q2_k, q3_k, q4_k, q5_k, q6_k

  /// The name used in the `.tir` text format.
  public var description: String { rawValue }

  /// True for `f32`, `f16` and `bf16`.
  public var isFloatingPoint: Bool { self == .f32 || self == .f16 || self == .bf16 }

  /// True for the signed and unsigned integer dtypes (not `bool`).
  public var isInteger: Bool { self == .i64 || self == .i32 || self == .i8 || self == .u8 }

  /// True for the block-quantized storage types.
  public var isQuantized: Bool { blockFormat != nil }

  /// True for dtypes that arithmetic ops accept: floating point and integers.
  public var isNumeric: Bool { isFloatingPoint || isInteger }

  /// Bytes per element for plain dtypes; `nil` for quantized types (see ``quantBlock``).
  public var byteWidth: Int? {
    switch self {
    case .f32, .i32: 4
    case .f16, .bf16: 2
    case .i64: 8
    case .i8, .u8, .bool: 1
    case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_k, .q3_k, .q4_k, .q5_k, .q6_k: nil
    }
  }

  /// Block layout of a quantized dtype: elements per block and bytes per block (GGUF layout).
  public var quantBlock: (elements: Int, bytes: Int)? {
    blockFormat.map { ($0.elements, $0.bytes) }
  }

  /// The GGUF block format of a quantized dtype (its one description), `nil` for plain dtypes.
  public var blockFormat: BlockFormat? {
    switch self {
    case .q4_0: .q4_0
    case .q4_1: .q4_1
    case .q5_0: .q5_0
    case .q5_1: .q5_1
    case .q8_0: .q8_0
    case .q2_k: .q2_k
    case .q3_k: .q3_k
    case .q4_k: .q4_k
    case .q5_k: .q5_k
    case .q6_k: .q6_k
    default: nil
    }
  }

  /// Bytes needed to store `count` elements, or `nil` when a quantized count is not a whole
  /// number of blocks.
  public func storageBytes(count: Int) -> Int? {
    if let width = byteWidth { return count.multipliedReportingOverflow(by: width).overflow ? nil : count * width }
    guard let block = quantBlock, count % block.elements == 0 else { return nil }
    return count / block.elements * block.bytes
  }
}

extension DType {
  /// `value` rounded to what this plain dtype holds: nearest for floats, truncated toward zero
  /// and wrapped for integers, 0 or 1 for bool.
  public func rounded(_ value: Double) -> Double { ElementCodec.round(value, to: self) }
}

extension DType {
  /// `value` wrapped to this integer dtype's width (i32, i8, u8), 0 or 1 for bool, unchanged for
  /// i64 and the other dtypes: how every evaluator stores integer results.
  @inlinable
  public func wrapping(_ value: Int64) -> Int64 {
    switch self {
    case .i32: Int64(Int32(truncatingIfNeeded: value))
    case .i8: Int64(Int8(truncatingIfNeeded: value))
    case .u8: Int64(UInt8(truncatingIfNeeded: value))
    case .bool: value != 0 ? 1 : 0
    default: value
    }
  }
}
