import TesseraIR
import Testing

@Suite("Shapes, dtypes and tensors")
struct ShapeAndTensorTests {
  @Test(
    "numpy broadcasting",
    arguments: [
      ([4, 1], [3], [4, 3] as [Int]?),
      ([2, 3, 4], [4], [2, 3, 4]),
      ([1], [5, 1, 2], [5, 1, 2]),
      ([], [3], [3]),
      ([2, 3], [3, 2], nil),
      ([8, 1, 6, 1], [7, 1, 5], [8, 7, 6, 5]),  // the example in numpy's broadcasting guide
    ] as [([Int], [Int], [Int]?)])
  func broadcasting(a: [Int], b: [Int], expected: [Int]?) {
    #expect(Shape.broadcast(Shape(a), Shape(b)) == expected.map(Shape.init))
    #expect(Shape.broadcast(Shape(b), Shape(a)) == expected.map(Shape.init))
  }

  @Test func stridesAreRowMajor() {
    #expect(Shape([2, 3, 4]).strides == [12, 4, 1])
    #expect(Shape([]).strides == [])
    #expect(Shape([]).count == 1)
  }

  @Test func storageBytesFollowGGUFBlocks() {
    #expect(DType.q4_0.storageBytes(count: 64) == 36)
    #expect(DType.q4_1.storageBytes(count: 32) == 20)
    #expect(DType.q8_0.storageBytes(count: 96) == 102)
    #expect(DType.q8_0.storageBytes(count: 33) == nil)
    #expect(DType.f16.storageBytes(count: 3) == 6)
  }

  @Test func halfPrecisionRoundsToNearest() {
    // 1 + 2^-11 is halfway between f16 neighbours 1 and 1 + 2^-10: ties go to even (1.0).
    #expect(Tensor([1 + 1.0 / 2048], shape: [1], dtype: .f16).element(at: 0) == 1)
    #expect(Tensor([1 + 3.0 / 2048], shape: [1], dtype: .f16).element(at: 0) == 1 + 2.0 / 1024)
    // bf16 keeps 8 bits of mantissa: 1 + 2^-8 is a tie and goes to even (1.0), 1 + 3*2^-9 rounds up.
    #expect(Tensor([1 + 1.0 / 256], shape: [1], dtype: .bf16).element(at: 0) == 1)
    #expect(Tensor([1 + 3.0 / 512], shape: [1], dtype: .bf16).element(at: 0) == 1 + 1.0 / 128)
  }

  @Test func integersWrapAndBoolsNormalise() {
    let t = Tensor([300, -1, 2.9], shape: [3], dtype: .u8)
    #expect(t.doubles == [44, 255, 2])
    #expect(Tensor([3, 0, -2], shape: [3], dtype: .bool).doubles == [1, 0, 1])
    #expect(Tensor([-129], shape: [1], dtype: .i8).doubles == [127])
  }

  @Test func bytesAreLittleEndian() {
    #expect(Tensor([1], shape: [], dtype: .i32).bytes == [1, 0, 0, 0])
    #expect(Tensor([1.0], shape: [], dtype: .f32).bytes == [0, 0, 0x80, 0x3F])
    #expect(Tensor(type: TensorType(.f32, [2]), bytes: [0, 0, 0]) == nil)
  }

  @Test func dequantizeQ4_0MatchesTheGGUFLayout() {
    // scale 0.5 (f16 0x3800); byte j holds low nibble j%16 and high nibble 15 - j%16.
    let quants = (0..<16).map { UInt8($0) | UInt8(15 - $0) << 4 }
    let values = Quantization.dequantize([0x00, 0x38] + quants, dtype: .q4_0, count: 32)
    let expectedLow = (0..<16).map { Float($0 - 8) * 0.5 }
    let expectedHigh = (0..<16).map { Float(15 - $0 - 8) * 0.5 }
    #expect(values == expectedLow + expectedHigh)
  }

  @Test func dequantizeQ4_1AndQ8_0() {
    // q4_1: d = 2 (0x4000), m = -1 (0xBC00); every nibble 3 → 3*2 - 1 = 5.
    let q41 = Quantization.dequantize(
      [0x00, 0x40, 0x00, 0xBC] + [UInt8](repeating: 0x33, count: 16), dtype: .q4_1, count: 32)
    #expect(q41 == [Float](repeating: 5, count: 32))
    // q8_0: d = 0.25 (0x3400); quants -128…
    let quants = (0..<32).map { UInt8(bitPattern: Int8(truncatingIfNeeded: $0 * 8 - 128)) }
    let q80 = Quantization.dequantize([0x00, 0x34] + quants, dtype: .q8_0, count: 32)
    let expected: [Float] = (0..<32).map { (index: Int) -> Float in Float(index * 8 - 128) * 0.25 }
    #expect(q80 == expected)
  }

  @Test func viewsReadBorrowedBytesInPlace() throws {
    final class Owner: @unchecked Sendable {  // never written after init
      let buffer: UnsafeMutableRawBufferPointer
      init(_ bytes: [UInt8]) {
        buffer = .allocate(byteCount: bytes.count, alignment: 4)
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
      }
      deinit { buffer.deallocate() }
    }
    let bytes: [UInt8] = [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0]  // f32 1.0, -2.0
    let owner = Owner(bytes)
    let type = TensorType(.f32, [2])
    let view = try #require(Tensor(type: type, viewing: UnsafeRawBufferPointer(owner.buffer), owner: owner))
    #expect(view.isView && view.floats == [1, -2] && view.bytes == bytes)
    #expect(view == Tensor(type: type, bytes: bytes)!)
    #expect(view != Tensor(type: TensorType(.i32, [2]), bytes: bytes)!)
    #expect(Tensor(type: TensorType(.f32, [3]), viewing: UnsafeRawBufferPointer(owner.buffer), owner: owner) == nil)
  }
}
