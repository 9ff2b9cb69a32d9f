import TesseraCompiler
import TesseraIR

/// Element access on buffers of 32-bit words: f32/i32 are whole words, i64 two words, f16/bf16
/// half a word, i8/u8/bool a byte; GGUF blocks are decoded byte by byte.
extension KernelTranslator {
  /// A pointer to word `word` (an i32 id) of buffer `buffer`.
  func wordPointer(_ buffer: Int, _ word: UInt32) -> UInt32 {
    b.emit(.accessChain, .pointer(.u32, .storageBuffer), [.id(buffers[buffer]), .id(b.int32(0)), .id(word)])
  }

  func loadWord(_ buffer: Int, _ word: UInt32) -> UInt32 {
    b.emit(.load, .u32, [.id(wordPointer(buffer, word))])
  }

  /// Splits an element index into the word holding it and the bit offset inside that word for
  /// elements of `bytes` (1 or 2) bytes.
  func split(_ index: UInt32, bytes: Int32) -> (word: UInt32, shift: UInt32) {
    let perWord = 4 / bytes
    let word = op(.shiftRightArithmetic, .i32, index, b.int32(perWord == 2 ? 1 : 2))
    let slot = op(.bitwiseAnd, .i32, index, b.int32(perWord - 1))
    return (word, op(.iMul, .i32, slot, b.int32(bytes * 8)))
  }

  /// Element `index` of a plain buffer, in its register.
  func loadElement(_ buffer: Int, _ index: UInt32, _ dtype: DType) -> UInt32 {
    switch dtype {
    case .f32: return op(.bitcast, .f32, loadWord(buffer, index))
    case .i64:
      let first = op(.shiftLeftLogical, .i32, index, b.int32(1))
      let low = op(.uConvert, .u64, loadWord(buffer, first))
      let high = op(.uConvert, .u64, loadWord(buffer, op(.iAdd, .i32, first, b.int32(1))))
      return op(.bitcast, .i64, op(.bitwiseOr, .u64, low, op(.shiftLeftLogical, .u64, high, b.uint32(32))))
    case .f16, .bf16:
      let (word, shift) = split(index, bytes: 2)
      let bits = op(.bitwiseAnd, .u32, op(.shiftRightLogical, .u32, loadWord(buffer, word), shift), b.uint32(0xFFFF))
      return dtype == .f16 ? unpackHalf(bits) : op(.bitcast, .f32, op(.shiftLeftLogical, .u32, bits, b.uint32(16)))
    case .i8, .u8, .bool:
      let (word, shift) = split(index, bytes: 1)
      let signedWord = op(.bitcast, .i32, loadWord(buffer, word))
      let byte = op(dtype == .i8 ? .bitFieldSExtract : .bitFieldUExtract, .i32, signedWord, shift, b.int32(8))
      return dtype == .bool ? op(.iNotEqual, .bool, byte, b.int32(0)) : byte
    default:
      return op(.bitcast, .i32, loadWord(buffer, index))
    }
  }

  /// Stores `value` (in its register) as element `index`. Narrow elements are merged into their
  /// word with atomic and/or, since other work-items may write the word's other bytes.
  func storeElement(_ buffer: Int, _ index: UInt32, _ value: UInt32, _ dtype: DType) {
    switch dtype {
    case .f32, .i32:
      b.emit(.store, [.id(wordPointer(buffer, index)), .id(op(.bitcast, .u32, value))])
    case .i64:
      let bits = op(.bitcast, .u64, value)
      let first = op(.shiftLeftLogical, .i32, index, b.int32(1))
      let high = op(.uConvert, .u32, op(.shiftRightLogical, .u64, bits, b.uint32(32)))
      b.emit(.store, [.id(wordPointer(buffer, first)), .id(op(.uConvert, .u32, bits))])
      b.emit(.store, [.id(wordPointer(buffer, op(.iAdd, .i32, first, b.int32(1)))), .id(high)])
    case .f16, .bf16:
      let bits =
        dtype == .f16 ? halfBits(value) : op(.shiftRightLogical, .u32, op(.bitcast, .u32, value), b.uint32(16))
      merge(buffer, index, bits, bytes: 2)
    default:
      let register = dtype == .bool ? cast(value, from: .bool, to: .i32) : value
      merge(buffer, index, op(.bitwiseAnd, .u32, op(.bitcast, .u32, register), b.uint32(0xFF)), bytes: 1)
    }
  }

  private func merge(_ buffer: Int, _ index: UInt32, _ bits: UInt32, bytes: Int32) {
    let (word, shift) = split(index, bytes: bytes)
    let pointer = wordPointer(buffer, word)
    let mask = op(.shiftLeftLogical, .u32, b.uint32(bytes == 2 ? 0xFFFF : 0xFF), shift)
    let device = b.uint32(SPIRV.Scope.device.rawValue), relaxed = b.uint32(SPIRV.MemorySemantics.relaxed)
    op(.atomicAnd, .u32, pointer, device, relaxed, op(.not, .u32, mask))
    op(.atomicOr, .u32, pointer, device, relaxed, op(.shiftLeftLogical, .u32, bits, shift))
  }

  /// Byte `offset` (an i32) of a buffer, as a u32 in 0…255.
  func loadByte(_ buffer: Int, _ offset: UInt32) -> UInt32 {
    let (word, shift) = split(offset, bytes: 1)
    return op(.bitwiseAnd, .u32, op(.shiftRightLogical, .u32, loadWord(buffer, word), shift), b.uint32(0xFF))
  }

  /// The f16 at an even byte `offset`, as f32.
  func loadHalf(_ buffer: Int, _ offset: UInt32) -> UInt32 {
    let (word, shift) = split(op(.shiftRightArithmetic, .i32, offset, b.int32(1)), bytes: 2)
    return unpackHalf(
      op(.bitwiseAnd, .u32, op(.shiftRightLogical, .u32, loadWord(buffer, word), shift), b.uint32(0xFFFF)))
  }

  /// Elements `index ..< index + lanes` of a block-quantized buffer (inside one block: KIR's
  /// vector `load_dequant`), decoded exactly as `Quantization.dequantize` does. Vectors of 4 lanes
  /// or more of q4_0, q4_1 and q8_0 read whole words (``loadDequantizedWords(_:_:_:lanes:)``);
  /// shorter ones byte by byte: block `index / 32` starts with its f16 scale (and f16 minimum for
  /// q4_1), read once for every lane; q4 element `j` is the low nibble of quant byte `j` for
  /// `j < 16` and the high nibble of byte `j - 16`.
  func loadDequantized(_ buffer: Int, _ index: UInt32, _ dtype: DType, lanes: Int) throws(SPIRVCodegenError)
    -> [UInt32]
  {
    guard let format = dtype.blockFormat else { throw fail("load_dequant from a \(dtype) buffer") }
    // The hand-written decodes cover the 32-element formats they were tuned for (tested against
    // their BlockFormat); every other format is emitted from its description.
    guard [.q4_0, .q4_1, .q8_0].contains(dtype) else { return loadDequantized(buffer, index, format, lanes: lanes) }
    if Self.readsWords(dtype, lanes: lanes) { return loadDequantizedWords(buffer, index, dtype, lanes: lanes) }
    let blockIndex = op(.shiftRightArithmetic, .i32, index, b.int32(5))
    let first = op(.bitwiseAnd, .i32, index, b.int32(31))
    let base = op(.iMul, .i32, blockIndex, b.int32(Int32(format.bytes)))
    let scale = loadHalf(buffer, base)
    let minimum = dtype == .q4_1 ? loadHalf(buffer, op(.iAdd, .i32, base, b.int32(2))) : nil
    let quants = op(.iAdd, .i32, base, b.int32(dtype == .q4_1 ? 4 : 2))
    return (0..<lanes).map { k in
      let j = k == 0 ? first : op(.iAdd, .i32, first, b.int32(Int32(k)))
      if dtype == .q8_0 {
        let byte = loadByte(buffer, op(.iAdd, .i32, quants, j))
        let signed = op(.bitFieldSExtract, .i32, op(.bitcast, .i32, byte), b.int32(0), b.int32(8))
        return op(.fMul, .f32, op(.convertSToF, .f32, signed), scale)
      }
      let byte = loadByte(buffer, op(.iAdd, .i32, quants, op(.bitwiseAnd, .i32, j, b.int32(15))))
      let nibbleShift = op(
        .bitcast, .u32, op(.shiftLeftLogical, .i32, op(.shiftRightArithmetic, .i32, j, b.int32(4)), b.int32(2)))
      let nibble = op(.bitwiseAnd, .u32, op(.shiftRightLogical, .u32, byte, nibbleShift), b.uint32(15))
      let quant = op(.convertSToF, .f32, op(.bitcast, .i32, nibble))
      if let minimum { return op(.fAdd, .f32, op(.fMul, .f32, quant, scale), minimum) }
      return op(.fMul, .f32, op(.fAdd, .f32, quant, b.float32(-8)), scale)
    }
  }
}
