import TesseraCompiler
import TesseraIR

/// Vector `load_dequant` of q4_0, q4_1 and q8_0 read a word at a time: the quant bytes of the
/// vector come from the aligned 32-bit words around them (blocks of 18 and 34 bytes leave them on
/// a 2-byte boundary), funnel-shifted into whole words, and each lane takes its quant out with one
/// bit-field extract. The block's f16 scale (and q4_1's minimum) is read once for all lanes, and
/// each lane's arithmetic is that of the byte-wise decode, so the values are the same.
extension KernelTranslator {
  /// Whether ``loadDequantizedWords(_:_:_:lanes:)`` reads `lanes` elements of `dtype`: q4_0, q4_1
  /// and q8_0 vectors whose quant bytes are whole words (4 lanes or more).
  static func readsWords(_ dtype: DType, lanes: Int) -> Bool {
    [.q4_0, .q4_1, .q8_0].contains(dtype) && lanes >= 4
  }

  /// Elements `index ..< index + lanes` of a q4_0, q4_1 or q8_0 buffer (`index` a multiple of
  /// `lanes`, which divides 32: KIR's vector `load_dequant`), as `Quantization.dequantize` gives
  /// them. q4 element `j` is the low nibble of quant byte `j` for `j < 16`, else the high nibble of
  /// byte `j - 16`: a vector of up to 16 lanes reads consecutive bytes with one nibble position,
  /// and 32 lanes read the 16 bytes twice.
  func loadDequantizedWords(_ buffer: Int, _ index: UInt32, _ dtype: DType, lanes: Int) -> [UInt32] {
    let isQ4 = dtype != .q8_0, headerBytes: Int32 = dtype == .q4_1 ? 4 : 2
    let blockBytes = Int32(dtype.quantBlock!.bytes)
    let first = op(.bitwiseAnd, .i32, index, b.int32(31))
    let base = op(.iMul, .i32, op(.shiftRightArithmetic, .i32, index, b.int32(5)), b.int32(blockBytes))
    let scale: UInt32, minimum: UInt32?
    if dtype == .q4_1 {  // 20-byte blocks: the f16 scale and minimum are one aligned word
      let header = loadWord(buffer, op(.shiftRightArithmetic, .i32, base, b.int32(2)))
      (scale, minimum) = (unpackHalf(header), unpackHalf(op(.shiftRightLogical, .u32, header, b.uint32(16))))
    } else {
      (scale, minimum) = (loadHalf(buffer, base), nil)
    }
    let byteInBlock = isQ4 ? op(.bitwiseAnd, .i32, first, b.int32(15)) : first
    let firstByte = op(.iAdd, .i32, base, op(.iAdd, .i32, byteInBlock, b.int32(headerBytes)))
    let words = words(buffer, from: firstByte, count: (isQ4 ? Swift.min(lanes, 16) : lanes) / 4)
    // Up to 16 q4 lanes share one nibble position: 4 bits up for the second half of the block.
    let nibble =
      isQ4 && lanes < 32
      ? op(.shiftLeftLogical, .i32, op(.shiftRightArithmetic, .i32, first, b.int32(4)), b.int32(2)) : nil
    return (0..<lanes).map { k in
      let byte = isQ4 ? k % 16 : k
      if !isQ4 {
        let quant = op(.bitFieldSExtract, .i32, words[byte / 4], b.int32(Int32(byte % 4 * 8)), b.int32(8))
        return op(.fMul, .f32, op(.convertSToF, .f32, quant), scale)
      }
      let bit =
        nibble.map { op(.iAdd, .i32, $0, b.int32(Int32(byte % 4 * 8))) } ?? b.int32(Int32(byte % 4 * 8 + k / 16 * 4))
      let quant = op(.convertSToF, .f32, op(.bitFieldUExtract, .i32, words[byte / 4], bit, b.int32(4)))
      if let minimum { return op(.fAdd, .f32, op(.fMul, .f32, quant, scale), minimum) }
      return op(.fMul, .f32, op(.fAdd, .f32, quant, b.float32(-8)), scale)
    }
  }

  /// `count` 32-bit words of a buffer starting at byte `offset` (an i32, any alignment), as i32s:
  /// each the funnel shift of the two aligned words it straddles. The word after the last is
  /// read only when `offset` is not a multiple of 4 (an aligned read loads its last word again
  /// instead), so nothing past the bytes asked for is read.
  private func words(_ buffer: Int, from offset: UInt32, count: Int) -> [UInt32] {
    let firstWord = op(.shiftRightArithmetic, .i32, offset, b.int32(2))
    let misalignment = op(.bitwiseAnd, .i32, offset, b.int32(3))
    let straddles = op(.shiftRightArithmetic, .i32, op(.iAdd, .i32, misalignment, b.int32(3)), b.int32(2))
    let aligned =
      (0..<count).map { loadWord(buffer, op(.iAdd, .i32, firstWord, b.int32(Int32($0)))) }
      + [loadWord(buffer, op(.iAdd, .i32, firstWord, op(.iAdd, .i32, straddles, b.int32(Int32(count - 1)))))]
    // `high << (32 - shift)` as `(high << 1) << (31 - shift)`: 0 for an aligned offset, where a
    // shift by 32 would be undefined.
    let shift = op(.shiftLeftLogical, .i32, misalignment, b.int32(3))
    let rest = op(.iSub, .i32, b.int32(31), shift)
    return (0..<count).map { i in
      let low = op(.shiftRightLogical, .u32, aligned[i], shift)
      let high = op(.shiftLeftLogical, .u32, op(.shiftLeftLogical, .u32, aligned[i + 1], b.uint32(1)), rest)
      return op(.bitcast, .i32, op(.bitwiseOr, .u32, low, high))
    }
  }
}
