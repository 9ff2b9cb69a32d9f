/// A SPIR-V type, the key under which the builder deduplicates type declarations.
public indirect enum SPIRVType: Hashable, Sendable {
  /// `void`.
  case void
  /// `bool`.
  case bool
  /// An integer of `width` bits.
  case int(width: UInt32, signed: Bool)
  /// A float of `width` bits.
  case float(width: UInt32)
  /// A vector of `count` elements.
  case vector(SPIRVType, count: UInt32)
  /// A fixed-length array.
  case array(SPIRVType, count: UInt32)
  /// An array whose length the bound buffer decides, with the element stride in bytes.
  case runtimeArray(SPIRVType, stride: UInt32)
  /// A `Block`-decorated struct whose members sit at the given byte offsets.
  case block([SPIRVType], offsets: [UInt32])
  /// A pointer into a storage class.
  case pointer(SPIRVType, SPIRV.StorageClass)
  /// A function type.
  case function(returns: SPIRVType, parameters: [SPIRVType])

  /// 32-bit float.
  public static let f32 = SPIRVType.float(width: 32)
  /// 32-bit signed integer.
  public static let i32 = SPIRVType.int(width: 32, signed: true)
  /// 32-bit unsigned integer.
  public static let u32 = SPIRVType.int(width: 32, signed: false)
  /// 64-bit signed integer.
  public static let i64 = SPIRVType.int(width: 64, signed: true)
  /// 64-bit unsigned integer.
  public static let u64 = SPIRVType.int(width: 64, signed: false)
}
