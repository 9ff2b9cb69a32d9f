/// A host tensor: a ``TensorType`` plus its elements as little-endian bytes in C order.
///
/// This is the currency between the IR (constants), the runtime (inputs and results) and file
/// formats (`.npy`). Quantized tensors hold their GGUF blocks as they are. The bytes are either
/// an array the tensor owns or a read-only view into memory another object keeps alive (a
/// memory-mapped model file: ``init(type:viewing:owner:)``), so weights need not be copied;
/// ``withUnsafeBytes(_:)`` reads either without a copy.
public struct Tensor: Hashable, Sendable, CustomStringConvertible {
  /// Element type and shape.
  public let type: TensorType
  private let storage: Storage

  /// Where the bytes live.
  private enum Storage: Sendable {
    case owned([UInt8])
    case view(BorrowedBytes)
  }

  /// The raw elements, `type.storageBytes` long. A view's bytes are copied into a new array on
  /// each access: read them with ``withUnsafeBytes(_:)`` where that matters.
  public var bytes: [UInt8] {
    switch storage {
    case .owned(let bytes): bytes
    case .view(let view): Array(view.buffer)
    }
  }

  /// Whether the bytes are a view into memory the tensor does not own.
  public var isView: Bool {
    if case .view = storage { true } else { false }
  }

  /// The element type.
  public var dtype: DType { type.dtype }
  /// The dimensions.
  public var shape: Shape { type.shape }

  /// Wraps raw bytes; returns `nil` when the byte count does not match the type.
  public init?(type: TensorType, bytes: [UInt8]) {
    guard let expected = type.storageBytes, expected == bytes.count else { return nil }
    self.type = type
    storage = .owned(bytes)
  }

  /// A tensor whose bytes are `buffer`, read in place (never written) for as long as the tensor
  /// or a copy of it lives; `owner` keeps the memory valid that long (a mapped file). Returns
  /// `nil` when the byte count does not match the type.
  public init?(type: TensorType, viewing buffer: UnsafeRawBufferPointer, owner: any AnyObject & Sendable) {
    guard let expected = type.storageBytes, expected == buffer.count else { return nil }
    self.type = type
    storage = .view(BorrowedBytes(buffer: buffer, owner: owner))
  }

  /// The object that keeps a view's bytes valid (``init(type:viewing:owner:)``); `nil` for a
  /// tensor that owns its bytes. Caches of data derived from a view can hold it weakly to learn
  /// when the bytes are gone.
  public var viewOwner: (any AnyObject & Sendable)? {
    if case .view(let view) = storage { view.owner } else { nil }
  }

  /// Calls `body` with the bytes, without copying them; the pointer is valid during the call.
  public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
    switch storage {
    case .owned(let bytes):
      let outcome: Result<R, E> = bytes.withUnsafeBytes { raw in Result { () throws(E) in try body(raw) } }
      return try outcome.get()
    case .view(let view):
      return try withExtendedLifetime(view.owner) { () throws(E) -> R in try body(view.buffer) }
    }
  }

  /// Equal type and equal bytes, wherever they live.
  public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
    lhs.type == rhs.type && lhs.withUnsafeBytes { a in rhs.withUnsafeBytes { b in a.elementsEqual(b) } }
  }

  /// Hashes the type and the bytes.
  public func hash(into hasher: inout Hasher) {
    hasher.combine(type)
    withUnsafeBytes { hasher.combine(bytes: $0) }
  }

  /// Creates a floating-point, integer or bool tensor from values, rounding each to `dtype`
  /// (floats to nearest, integers truncated toward zero and wrapped, bool as `value != 0`).
  /// `values.count` must equal the shape's element count.
  public init(_ values: [Double], shape: Shape, dtype: DType = .f32) {
    precondition(values.count == shape.count, "Tensor: \(values.count) values for shape \(shape)")
    precondition(!dtype.isQuantized, "Tensor: quantized tensors are built from their blocks")
    var bytes = [UInt8]()
    bytes.reserveCapacity(dtype.storageBytes(count: values.count) ?? 0)
    for value in values { ElementCodec.append(value, as: dtype, to: &bytes) }
    self.type = TensorType(dtype, shape)
    storage = .owned(bytes)
  }

  /// Creates an `f32` (or other plain dtype) tensor from `Float` values.
  public init(floats: [Float], shape: Shape, dtype: DType = .f32) {
    self.init(floats.map(Double.init), shape: shape, dtype: dtype)
  }

  /// A tensor of `shape` with every element equal to `value`.
  public init(repeating value: Double, shape: Shape, dtype: DType = .f32) {
    self.init([Double](repeating: value, count: shape.count), shape: shape, dtype: dtype)
  }

  /// The element at flat (C order) index `index`, widened to `Double`. Plain dtypes only.
  public func element(at index: Int) -> Double {
    withUnsafeBytes { ElementCodec.read($0, index: index, as: dtype) }
  }

  /// Every element widened to `Double` (exact for all plain dtypes except i64 beyond 2^53).
  public var doubles: [Double] {
    withUnsafeBytes { raw in (0..<shape.count).map { ElementCodec.read(raw, index: $0, as: dtype) } }
  }

  /// Every element as `Float`.
  public var floats: [Float] { doubles.map { Float($0) } }

  /// Every element as `Int64` (floating-point values truncated toward zero).
  public var int64s: [Int64] {
    if dtype == .i64 {
      return withUnsafeBytes { raw in (0..<shape.count).map { ElementCodec.readInteger(raw, offset: $0 * 8, width: 8) }
      }
    }
    return (0..<shape.count).map { Int64(element(at: $0)) }
  }

  /// A short text: type and the first few elements.
  public var description: String { "Tensor(\(type): \(preview(limit: 8)))" }

  /// The first `limit` elements as text, `…` when there are more.
  public func preview(limit: Int = 8) -> String {
    if dtype.isQuantized { return "<\(bytes.count) bytes of \(dtype) blocks>" }
    let shown = (0..<min(limit, shape.count)).map { ElementCodec.format(element(at: $0), dtype: dtype) }
    return "[" + shown.joined(separator: ", ") + (shape.count > limit ? ", …]" : "]")
  }
}

/// Conversions between `Double` and the little-endian byte form of each plain dtype.
enum ElementCodec {
  static func append(_ value: Double, as dtype: DType, to bytes: inout [UInt8]) {
    switch dtype {
    case .f32: appendInteger(UInt64(Float(value).bitPattern), width: 4, to: &bytes)
    case .f16: appendInteger(UInt64(Float16(Float(value)).bitPattern), width: 2, to: &bytes)
    case .bf16: appendInteger(UInt64(bfloat16Bits(Float(value))), width: 2, to: &bytes)
    case .i64: appendInteger(UInt64(bitPattern: wrappingInt64(value)), width: 8, to: &bytes)
    case .i32: appendInteger(UInt64(UInt32(truncatingIfNeeded: wrappingInt64(value))), width: 4, to: &bytes)
    case .i8: appendInteger(UInt64(UInt8(truncatingIfNeeded: wrappingInt64(value))), width: 1, to: &bytes)
    case .u8: appendInteger(UInt64(UInt8(truncatingIfNeeded: wrappingInt64(value))), width: 1, to: &bytes)
    case .bool: bytes.append(value != 0 ? 1 : 0)
    case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_k, .q3_k, .q4_k, .q5_k, .q6_k:
      preconditionFailure("quantized dtypes have no per-element codec")
    }
  }

  static func read<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes, index: Int, as dtype: DType) -> Double
  where Bytes.Index == Int {
    switch dtype {
    case .f32: Double(Float(bitPattern: UInt32(truncatingIfNeeded: readInteger(bytes, offset: index * 4, width: 4))))
    case .f16: Double(Float16(bitPattern: UInt16(truncatingIfNeeded: readInteger(bytes, offset: index * 2, width: 2))))
    case .bf16:
      Double(
        Float(bitPattern: UInt32(UInt16(truncatingIfNeeded: readInteger(bytes, offset: index * 2, width: 2))) << 16))
    case .i64: Double(readInteger(bytes, offset: index * 8, width: 8))
    case .i32: Double(Int32(truncatingIfNeeded: readInteger(bytes, offset: index * 4, width: 4)))
    case .i8: Double(Int8(bitPattern: bytes[index]))
    case .u8: Double(bytes[index])
    case .bool: bytes[index] != 0 ? 1 : 0
    case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_k, .q3_k, .q4_k, .q5_k, .q6_k:
      preconditionFailure("quantized dtypes have no per-element codec")
    }
  }

  /// Reads a little-endian integer of `width` bytes (zero-extended into the result's bits).
  static func readInteger<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes, offset: Int, width: Int) -> Int64
  where Bytes.Index == Int {
    var value: UInt64 = 0
    for i in 0..<width { value |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
    return Int64(bitPattern: value)
  }

  static func appendInteger(_ value: UInt64, width: Int, to bytes: inout [UInt8]) {
    for i in 0..<width { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
  }

  /// Converts to Int64 as C does for in-range values (toward zero); NaN and out-of-range give 0
  /// or the saturated bound instead of trapping.
  static func wrappingInt64(_ value: Double) -> Int64 {
    if value.isNaN { return 0 }
    if value >= 9.223372036854775807e18 { return .max }
    if value <= -9.223372036854775808e18 { return .min }
    return Int64(value)
  }

  /// Rounds a Float to bfloat16 (round to nearest, ties to even; NaN stays NaN).
  static func bfloat16Bits(_ value: Float) -> UInt16 {
    let bits = value.bitPattern
    if value.isNaN { return UInt16(bits >> 16) | 0x40 }
    let rounding = 0x7FFF + ((bits >> 16) & 1)
    return UInt16((bits &+ rounding) >> 16)
  }

  /// Rounds a value to what `dtype` can hold (identity for f32-exact values, rounding for f16/bf16,
  /// truncation and wrapping for integers).
  static func round(_ value: Double, to dtype: DType) -> Double {
    var bytes = [UInt8]()
    append(value, as: dtype, to: &bytes)
    return read(bytes, index: 0, as: dtype)
  }

  static func format(_ value: Double, dtype: DType) -> String {
    if dtype == .bool { return value != 0 ? "true" : "false" }
    if dtype.isInteger { return String(Int64(value)) }
    return formatFloat(value)
  }

  /// Shortest text that reads back to the same Float (for f32-exact values), always with a
  /// decimal point or exponent so it reads as a float.
  static func formatFloat(_ value: Double) -> String {
    if value.isNaN { return "nan" }
    if value.isInfinite { return value < 0 ? "-inf" : "inf" }
    let text = Float(exactly: value).map { "\($0)" } ?? "\(value)"
    return text.contains(".") || text.contains("e") || text.contains("n") ? text : text + ".0"
  }
}

/// Read-only bytes that `owner` keeps valid. `@unchecked Sendable`: nothing writes them, and the
/// owner (itself `Sendable`) outlives every copy of this value.
private struct BorrowedBytes: @unchecked Sendable {
  let buffer: UnsafeRawBufferPointer
  let owner: any AnyObject & Sendable
}
