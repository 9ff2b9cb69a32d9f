import TesseraIR

/// One GGUF block (32 weights) split into its codes and the affine map that dequantizes them:
/// weight `j` is `codes[j] · scale + offset`, the arithmetic of
/// ``Quantization/dequantize(_:dtype:count:)`` (q4_0: code `q` in 0…15 with offset `-8·scale`;
/// q4_1: offset `m`; q8_0: signed code, offset 0).
struct QuantizedBlock {
  /// Codes of elements 0–15, as floats.
  var low: SIMD16<Float>
  /// Codes of elements 16–31, as floats.
  var high: SIMD16<Float>
  /// The block's f16 scale `d`, widened.
  var scale: Float
  /// Added to every scaled code.
  var offset: Float
}

/// A GGUF block layout, so kernels can be specialised per format outside their inner loops.
protocol QuantizedBlockFormat {
  /// Bytes per block.
  static var bytes: Int { get }
  /// Whether ``QuantizedBlock/offset`` can be non-zero.
  static var hasOffset: Bool { get }
  /// Weight rows a matrix-vector pass reads together: 4 for the nibble formats (their decode is
  /// the bottleneck, and four rows share each load of `x`), 1 for q8_0 (measured on a 28 MiB
  /// 49152×576 matrix: four interleaved rows streamed at 5.5 GB/s, two at 7, one at 18; on
  /// L2-sized matrices one row is within noise of four).
  static var rowsPerPass: Int { get }
  /// The block at `base`, decoded in registers.
  static func block(at base: UnsafeRawPointer) -> QuantizedBlock
}

/// q4_0: f16 `d`, then 16 bytes of nibble pairs (low nibbles are elements 0–15).
enum Q4_0Format: QuantizedBlockFormat {
  static let bytes = 18
  static let hasOffset = true
  static let rowsPerPass = 4
  @inline(__always)
  static func block(at base: UnsafeRawPointer) -> QuantizedBlock {
    let d = QuantizedBlocks.half(base)
    let (low, high) = QuantizedBlocks.nibbles(base + 2)
    return QuantizedBlock(low: low, high: high, scale: d, offset: -8 * d)
  }
}

/// q4_1: f16 `d`, f16 `m`, then 16 bytes of nibble pairs.
enum Q4_1Format: QuantizedBlockFormat {
  static let bytes = 20
  static let hasOffset = true
  static let rowsPerPass = 4
  @inline(__always)
  static func block(at base: UnsafeRawPointer) -> QuantizedBlock {
    let (low, high) = QuantizedBlocks.nibbles(base + 4)
    return QuantizedBlock(
      low: low, high: high, scale: QuantizedBlocks.half(base), offset: QuantizedBlocks.half(base + 2))
  }
}

/// q8_0: f16 `d`, then 32 signed bytes.
enum Q8_0Format: QuantizedBlockFormat {
  static let bytes = 34
  static let hasOffset = false
  static let rowsPerPass = 1
  @inline(__always)
  static func block(at base: UnsafeRawPointer) -> QuantizedBlock {
    let low = SIMDConversions.widen((base + 2).loadUnaligned(as: SIMD16<Int8>.self))
    let high = SIMDConversions.widen((base + 18).loadUnaligned(as: SIMD16<Int8>.self))
    return QuantizedBlock(
      low: SIMDConversions.float(low), high: SIMDConversions.float(high), scale: QuantizedBlocks.half(base),
      offset: 0)
  }
}

/// Shared pieces of the block formats, and whole-block decoding by runtime dtype.
enum QuantizedBlocks {
  /// Bytes per block of `dtype` (q4_0 18, q4_1 20, q8_0 34; f16 and bf16 64, per 32 elements).
  static func blockBytes(_ dtype: DType) -> Int { dtype.quantBlock?.bytes ?? 32 * dtype.byteWidth! }

  /// Elements of one block of `dtype`: its GGUF block's, or 32 for f16 and bf16, which tiles
  /// read 32 at a time.
  static func blockElements(_ dtype: DType) -> Int { dtype.quantBlock?.elements ?? 32 }

  /// Bytes of a row of `k` weights of the block-quantized `dtype`.
  static func rowBytes(k: Int, dtype: DType) -> Int { k / blockElements(dtype) * blockBytes(dtype) }

  /// Whether the kernels here read `dtype`'s blocks where GGUF stores them (q4_0, q4_1, q8_0).
  static func readsInPlace(_ dtype: DType) -> Bool { dtype == .q4_0 || dtype == .q4_1 || dtype == .q8_0 }

  /// The f16 at `pointer`, widened.
  @inline(__always)
  static func half(_ pointer: UnsafeRawPointer) -> Float {
    Float(Float16(bitPattern: pointer.loadUnaligned(as: UInt16.self)))
  }

  /// The 16 bytes at `pointer` split into low nibbles (elements 0–15) and high nibbles
  /// (elements 16–31), as floats.
  @inline(__always)
  static func nibbles(_ pointer: UnsafeRawPointer) -> (low: SIMD16<Float>, high: SIMD16<Float>) {
    // Split on the bytes (one 128-bit register), then widen: fewer wide integer operations.
    let bytes = pointer.loadUnaligned(as: SIMD16<UInt8>.self)
    return (
      SIMDConversions.float(SIMDConversions.widen(bytes & 0x0F)),
      SIMDConversions.float(SIMDConversions.widen(bytes &>> 4))
    )
  }

  /// Block `block` of a row starting at `row`, as 32 floats (`low` is elements 0–15), each
  /// `code · d + offset` rounded once (q4_0 and q8_0 give the reference's bits, q4_1 rounds once
  /// where the reference rounds twice).
  @inline(__always)
  static func decode(_ row: UnsafeRawPointer, block: Int, dtype: DType) -> (low: SIMD16<Float>, high: SIMD16<Float>) {
    let decoded: QuantizedBlock
    switch dtype {
    case .q4_0: decoded = Q4_0Format.block(at: row + block * Q4_0Format.bytes)
    case .q4_1: decoded = Q4_1Format.block(at: row + block * Q4_1Format.bytes)
    default: decoded = Q8_0Format.block(at: row + block * Q8_0Format.bytes)
    }
    let scale = SIMD16<Float>(repeating: decoded.scale), offset = SIMD16<Float>(repeating: decoded.offset)
    return (offset.addingProduct(decoded.low, scale), offset.addingProduct(decoded.high, scale))
  }

  /// Decodes a whole row of `k` weights into `out`.
  static func decodeRow(_ row: UnsafeRawPointer, k: Int, dtype: DType, into out: UnsafeMutablePointer<Float>) {
    let raw = UnsafeMutableRawPointer(out)
    for block in 0..<(k / 32) {
      let (low, high) = decode(row, block: block, dtype: dtype)
      raw.storeBytes(of: low, toByteOffset: block * 128, as: SIMD16<Float>.self)
      raw.storeBytes(of: high, toByteOffset: block * 128 + 64, as: SIMD16<Float>.self)
    }
  }
}
