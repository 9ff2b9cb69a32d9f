import Foundation
import Tessera
import TesseraTestSupport
import Testing

@Suite struct GGUFReaderTests {
  func written(_ writer: GGUFWriter) throws -> String {
    let path = TestSupport.temporaryDirectory("gguf") + "/test.gguf"
    try writer.write(to: path)
    return path
  }

  @Test(arguments: [UInt32(2), 3]) func readsEveryMetadataType(version: UInt32) throws {
    var writer = GGUFWriter()
    writer.version = version
    let values: [(String, GGUFValue)] = [
      ("u8", .uint8(200)), ("i8", .int8(-5)), ("u16", .uint16(60000)), ("i16", .int16(-300)),
      ("u32", .uint32(4_000_000_000)), ("i32", .int32(-70000)), ("u64", .uint64(1 << 40)), ("i64", .int64(-(1 << 40))),
      ("f32", .float32(1.5)), ("f64", .float64(-2.25)), ("bool", .bool(true)), ("string", .string("héllo")),
      ("ints", .array(GGUFArray(elementType: .int32, elements: [.int32(1), .int32(-2)]))),
      (
        "nested",
        .array(
          GGUFArray(
            elementType: .array,
            elements: [
              .array(GGUFArray(elementType: .string, elements: [.string("a")])),
              .array(GGUFArray(elementType: .string, elements: [])),
            ]))
      ),
    ]
    writer.metadata = values.map { (key: $0.0, value: $0.1) }
    let file = try GGUFFile(path: try written(writer))
    #expect(file.version == version)
    #expect(file.metadataKeys == values.map(\.0))
    for (key, value) in values { #expect(file.metadata[key] == value) }
    #expect(try file.integer("u32") == 4_000_000_000 && file.double("f64") == -2.25 && file.string("string") == "héllo")
    #expect(try file.integerArray("ints") == [1, -2])
  }

  @Test func readsTensorsZeroCopyWithShapesReversed() throws {
    var writer = GGUFWriter()
    writer.alignment = 64
    writer.metadata = [("general.alignment", .uint32(64))]
    let f32 = (0..<6).flatMap { i -> [UInt8] in
      var out = ByteWriter()
      out.u32(Float(i).bitPattern)
      return out.bytes
    }
    let blocks: [(String, UInt32, Int)] = [("q4_0", 2, 18), ("q4_1", 3, 20), ("q8_0", 8, 34)]
    writer.tensors = [.init(name: "w", dims: [3, 2], typeCode: 0, bytes: f32)]
    writer.tensors.append(.init(name: "h", dims: [2], typeCode: 1, bytes: [0x00, 0x3C, 0x00, 0xC0]))
    for (name, code, size) in blocks {
      writer.tensors.append(
        .init(name: name, dims: [64, 1], typeCode: code, bytes: (0..<(2 * size)).map { UInt8($0 % 7) }))
    }
    let file = try GGUFFile(path: try written(writer))
    #expect(file.alignment == 64)
    let w = try file.tensor(named: "w")
    #expect(w.type == TensorType(.f32, [2, 3]) && w.floats == [0, 1, 2, 3, 4, 5])
    // A view into the mapping (no copy) that equals, and hashes like, the same bytes owned.
    #expect(w.isView)
    let owned = Tensor(type: w.type, bytes: f32)!
    #expect(!owned.isView && w == owned && w.hashValue == owned.hashValue)
    #expect(w.withUnsafeBytes { $0.baseAddress } == file.bytes(of: try file.info(named: "w")).baseAddress)
    #expect(try file.tensor(named: "h").floats == [1, -2])
    for (name, _, size) in blocks {
      let info = try file.info(named: name)
      #expect(info.shape == [1, 64] && info.byteCount == 2 * size && info.offset % 64 == 0)
      #expect(Array(file.bytes(of: info)) == (0..<(2 * size)).map { UInt8($0 % 7) })
    }
  }

  @Test func releasedPagesOfTheMappingReadTheSameBytesAgain() throws {
    var writer = GGUFWriter()
    let bytes = (0..<(5 * 4096)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
    writer.tensors = [.init(name: "w", dims: [bytes.count / 4], typeCode: 0, bytes: bytes)]  // f32
    let file = try GGUFFile(path: try written(writer))
    let w = try file.tensor(named: "w")
    let mapping = try #require(w.viewOwner as? any FileBackedMemory, "GGUF views are file-backed")
    #expect(w.bytes == bytes)
    w.withUnsafeBytes { mapping.releasePages(in: $0) }
    #expect(w.bytes == bytes)
    // Ranges inside one page, or across a page boundary, drop the pages they share with their
    // neighbours: the neighbours read the same bytes again.
    w.withUnsafeBytes { mapping.releasePages(in: UnsafeRawBufferPointer(rebasing: $0[100..<200])) }
    w.withUnsafeBytes { mapping.releasePages(in: UnsafeRawBufferPointer(rebasing: $0[4000..<4200])) }
    #expect(w.bytes == bytes)
  }

  @Test func namesTheTensorOfAnUnsupportedType() throws {
    var writer = GGUFWriter()
    writer.tensors = [
      .init(name: "blk.0.ffn_down.weight", dims: [256], typeCode: 16, bytes: [UInt8](repeating: 0, count: 66))
    ]
    #expect(throws: GGUFError.unsupportedTensorType(tensor: "blk.0.ffn_down.weight", type: "IQ2_XXS")) {
      try GGUFFile(path: try written(writer))
    }
    let message = GGUFError.unsupportedTensorType(tensor: "t", type: "IQ2_XXS").description
    #expect(message.contains("unsupported tensor type IQ2_XXS") && message.contains("Q4_K") && message.contains("BF16"))
  }
}
