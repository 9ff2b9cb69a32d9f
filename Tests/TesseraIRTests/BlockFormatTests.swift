import TesseraIR
import TesseraTestSupport
import Testing

/// The one description of each GGUF block format: sizes and type ids as ggml defines them,
/// decodes of hand-built blocks whose expected values are worked out by hand from ggml's layout,
/// and random blocks against gguf-py's numpy `dequantize` when `python3 -c 'import gguf'` works.
@Suite struct BlockFormatTests {
  /// ggml's `GGML_TYPE_*` id, block elements and `sizeof(block_*)` for each type (ggml-common.h).
  static let ggml: [(DType, UInt32, Int, Int)] = [
    (.q4_0, 2, 32, 18), (.q4_1, 3, 32, 20), (.q5_0, 6, 32, 22), (.q5_1, 7, 32, 24), (.q8_0, 8, 32, 34),
    (.q2_k, 10, 256, 84), (.q3_k, 11, 256, 110), (.q4_k, 12, 256, 144), (.q5_k, 13, 256, 176), (.q6_k, 14, 256, 210),
  ]

  @Test func sizesAndTypeIDsAreGGMLs() {
    #expect(BlockFormat.all.map(\.dtype) == Self.ggml.map(\.0))
    for (dtype, id, elements, bytes) in Self.ggml {
      let format = dtype.blockFormat!
      #expect(format.ggufType == id && format.elements == elements && format.bytes == bytes, "\(dtype)")
      #expect(BlockFormat.gguf(id) == format)
      #expect(dtype.storageBytes(count: elements * 3) == bytes * 3)
      #expect(dtype.storageBytes(count: elements + 1) == nil)
    }
    #expect(DType.allCases.filter(\.isQuantized) == Self.ggml.map(\.0))
  }

  @Test(arguments: BlockFormat.all) func fieldsTileTheBlock(format: BlockFormat) {
    var offset = 0
    for field in format.fields {
      #expect(field.offset == offset, "\(format) \(field.name)")
      if field.kind == .f16 { #expect(field.offset % 2 == 0 && field.bytes == 2) }
      offset += field.bytes
    }
    #expect(offset == format.bytes)
  }

  /// A block with the given bytes set (the rest 0), and elements whose values were derived by
  /// hand from ggml's layout. f16 bits: 0x3C00 = 1, 0x3800 = 0.5, 0xBC00 = -1.
  struct HandBlock: Sendable, CustomStringConvertible {
    var dtype: DType
    var bytes: [Int: UInt8]
    var expected: [Int: Float]
    var description: String { "\(dtype)" }
  }

  static let handBlocks: [HandBlock] = [
    // (code - 8) * d: byte 3 (element 3 low nibble 1, element 19 high nibble 10).
    HandBlock(dtype: .q4_0, bytes: [0: 0x00, 1: 0x38, 2 + 3: 0xA1], expected: [3: -3.5, 19: 1, 0: -4]),
    // code * d + m with m = -1.
    HandBlock(dtype: .q4_1, bytes: [1: 0x38, 3: 0xBC, 4 + 3: 0xA1], expected: [3: -0.5, 19: 4, 0: -1]),
    // Fifth bits 3 and 19 set in qh (bytes 2 and 4): codes 17 and 26; element 4 is 0 - 16.
    HandBlock(dtype: .q5_0, bytes: [1: 0x38, 2: 0x08, 4: 0x08, 6 + 3: 0xA1], expected: [3: 0.5, 19: 5, 4: -8]),
    HandBlock(
      dtype: .q5_1, bytes: [1: 0x38, 3: 0xBC, 4: 0x08, 6: 0x08, 8 + 3: 0xA1], expected: [3: 7.5, 19: 12, 4: -1]),
    // Signed codes: 0xFE is -2.
    HandBlock(dtype: .q8_0, bytes: [1: 0x38, 2 + 5: 0xFE, 2 + 31: 0x7F], expected: [5: -1, 31: 63.5, 0: 0]),
    // d = 1, dmin = 0.5. Element 37: scales[2] = 0x31 (sc 1, m 3), qs[5] bits 2-3 = 3 -> 3 - 1.5.
    // Element 165: second half, scales[10] = 0x12 (sc 2, m 1), qs[37] bits 2-3 = 2 -> 4 - 0.5.
    HandBlock(
      dtype: .q2_k, bytes: [2: 0x31, 10: 0x12, 16 + 5: 0x0C, 16 + 37: 0x08, 81: 0x3C, 83: 0x38],
      expected: [37: 1.5, 165: 3.5, 5: 0]),
    // d = 1. Element 37: scale 2 = 5 | 2 << 4 = 37 (-32 -> 5), code 3, hmask[5] bit 1 set -> 15.
    // Element 5: scale 0 = 0 (-32), code 0, high bit clear -> -32 * -4 = 128.
    // Element 200: scale 12 = 7 | 1 << 4 = 23 (-> -9), code 2 (qs[40] bits 4-5), hmask[8] bit 6 -> -18.
    HandBlock(
      dtype: .q3_k,
      bytes: [
        5: 0x02, 8: 0x40, 32 + 5: 0x0C, 32 + 40: 0x20, 96 + 2: 0x05, 96 + 4: 0x70, 96 + 8: 0x40, 96 + 10: 0x02,
        109: 0x3C,
      ],
      expected: [37: 15, 5: 128, 200: -18]),
    // d = 1, dmin = 0.5. Element 40 (sub-block 1): sc 3, m 4, code 7 (high nibble of qs[8]) -> 19.
    // Element 200 (sub-block 6): sc 2 | 1 << 4 = 18, m 5 | 3 << 4 = 53, code 9 (low nibble of qs[104]) -> 135.5.
    HandBlock(
      dtype: .q4_k,
      bytes: [
        1: 0x3C, 3: 0x38, 4 + 1: 0x03, 4 + 5: 0x04, 4 + 2: 0x40, 4 + 6: 0xC0, 4 + 10: 0x52, 16 + 8: 0x70,
        16 + 104: 0x09,
      ],
      expected: [40: 19, 200: 135.5, 0: 0]),
    // As q4_k plus fifth bits: qh[8] bit 1 (element 40: code 23 -> 67) and bit 6 (element 200: code 25 -> 423.5).
    HandBlock(
      dtype: .q5_k,
      bytes: [
        1: 0x3C, 3: 0x38, 4 + 1: 0x03, 4 + 5: 0x04, 4 + 2: 0x40, 4 + 6: 0xC0, 4 + 10: 0x52, 16 + 8: 0x42, 48 + 8: 0x70,
        48 + 104: 0x09,
      ],
      expected: [40: 67, 200: 423.5, 0: 0]),
    // d = 1. Element 40: low 5 (ql[40]), high 2 (qh[8] bits 2-3) -> 37 - 32 = 5, scale[2] = -3 -> -15.
    // Element 200: low 3 (ql[72] high nibble), high 1 (qh[40] bits 4-5) -> 19 - 32, scale[12] = 2 -> -26.
    // Element 0: code 0 - 32, scale 0 -> 0.
    HandBlock(
      dtype: .q6_k,
      bytes: [40: 0x05, 72: 0x30, 128 + 8: 0x08, 128 + 40: 0x10, 192 + 2: 0xFD, 192 + 12: 0x02, 209: 0x3C],
      expected: [40: -15, 200: -26, 0: 0]),
  ]

  @Test(arguments: handBlocks) func decodesHandBuiltBlocks(block: HandBlock) {
    let format = block.dtype.blockFormat!
    var bytes = [UInt8](repeating: 0, count: format.bytes * 2)
    for (offset, value) in block.bytes {
      bytes[offset] = value
      bytes[format.bytes + offset] = value  // the same block again, second in the buffer
    }
    let decoded = Quantization.dequantize(bytes, dtype: block.dtype, count: format.elements * 2)
    for (element, value) in block.expected {
      #expect(decoded[element] == value, "\(block.dtype) element \(element)")
      #expect(decoded[format.elements + element] == value, "\(block.dtype) second block element \(element)")
      let single = bytes.withUnsafeBytes { BlockDecoder.element(format, element, of: $0.baseAddress!) }
      #expect(single == value, "\(block.dtype) element \(element) alone")
    }
  }

  /// Random blocks (f16 fields finite and small) for `format`.
  static func randomBlocks(_ format: BlockFormat, count: Int, seed: UInt64) -> [UInt8] {
    var state = seed
    func next() -> UInt64 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return state >> 33
    }
    var bytes = (0..<(count * format.bytes)).map { _ in UInt8(truncatingIfNeeded: next()) }
    for block in 0..<count {
      for field in format.fields where field.kind == .f16 {
        let bits = Float16(Float(Int(next() % 2001) - 1000) / 16000).bitPattern
        bytes[block * format.bytes + field.offset] = UInt8(truncatingIfNeeded: bits)
        bytes[block * format.bytes + field.offset + 1] = UInt8(truncatingIfNeeded: bits >> 8)
      }
    }
    return bytes
  }

  static let ggufPython: Bool = {
    (try? TestSupport.runProcess("/usr/bin/env", ["python3", "-c", "import gguf, numpy"]))?.status == 0
  }()

  @Test(
    .enabled(if: ggufPython, "gguf-py is not importable (pip install gguf); skipped the numpy comparison"),
    arguments: BlockFormat.all)
  func matchesGGUFPy(format: BlockFormat) throws {
    let blocks = 6
    let bytes = Self.randomBlocks(format, count: blocks, seed: UInt64(format.ggufType))
    let input = Tensor(bytes.map(Double.init), shape: [bytes.count], dtype: .u8)
    let script = """
      import gguf
      out = gguf.quants.dequantize(ins[0], gguf.GGMLQuantizationType.\(format.ggmlName)).astype(np.float32)
      """
    let expected = try #require(try TestSupport.numpy(script, inputs: [input]))
    let actual = Quantization.dequantize(bytes, dtype: format.dtype, count: blocks * format.elements)
    #expect(expected.shape.count == actual.count)
    let mismatches = zip(actual, expected.doubles).enumerated().filter { Double($0.element.0) != $0.element.1 }
    #expect(mismatches.isEmpty, "\(format): \(mismatches.count) elements differ, first \(mismatches.prefix(3))")
  }
}
