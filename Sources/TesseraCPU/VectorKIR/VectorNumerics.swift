import TesseraIR

/// The executor's scalar conversions: what a KIR type holds, computed without traps (inactive
/// lanes may hold any bits).
enum VectorNumerics {
  /// `value` rounded to a floating dtype, as a Float register holds it.
  @inline(__always)
  static func roundFloat(_ value: Double, _ dtype: DType) -> Float {
    switch dtype {
    case .f32: Float(value)
    case .f16: Float(Float16(Float(value)))
    default: Float(dtype.rounded(value))
    }
  }

  /// A Double wrapped to an integer dtype (bool as `!= 0`), truncating toward zero.
  @inline(__always)
  static func wrapInteger(_ value: Double, _ dtype: DType) -> Int64 {
    if dtype == .bool { return value != 0 ? 1 : 0 }
    guard value.isFinite, Swift.abs(value) < 9.2e18 else { return 0 }
    return wrap(Int64(value.rounded(.towardZero)), dtype)
  }

  /// An Int64 wrapped to an integer dtype's width.
  @inline(__always)
  static func wrap(_ value: Int64, _ dtype: DType) -> Int64 { dtype.wrapping(value) }

  /// A Float converted to an integer dtype, truncating toward zero (0 for NaN or out of range).
  @inline(__always)
  static func floatToInteger(_ value: Float, _ dtype: DType) -> Int64 {
    if dtype == .bool { return value != 0 ? 1 : 0 }
    return wrapInteger(Double(value), dtype)
  }
}
