import Foundation
import Tessera
import TesseraTestSupport
import Testing

/// Hostile and broken files (DESIGN.md's attack classes): each is rejected with a clear error
/// before any large allocation or out-of-bounds read.
@Suite struct GGUFMalformedTests {
  func open(_ bytes: [UInt8]) throws -> GGUFFile {
    let path = TestSupport.temporaryDirectory("gguf-bad") + "/bad.gguf"
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return try GGUFFile(path: path)
  }

  /// A file with one tensor `t` and 64 bytes of tensor data.
  func withTensor(dims: [UInt64], type: UInt32 = 0, offset: UInt64 = 0) -> [UInt8] {
    var out = ByteWriter.ggufHeader(tensors: 1, keys: 0)
    out.string("t")
    out.u32(UInt32(dims.count))
    for dim in dims { out.u64(dim) }
    out.u32(type)
    out.u64(offset)
    out.pad(to: 32)
    out.bytes += [UInt8](repeating: 0, count: 64)
    return out.bytes
  }

  @Test func rejectsTruncatedHeaders() throws {
    #expect(throws: GGUFError.truncated(what: "magic", offset: 0, needed: 4, available: 2)) { try open([0x47, 0x47]) }
    let full = ByteWriter.ggufHeader(tensors: 0, keys: 0).bytes
    #expect(throws: GGUFError.truncated(what: "metadata key count", offset: 16, needed: 8, available: 3)) {
      try open(Array(full.prefix(19)))
    }
  }

  @Test func rejectsBadMagicAndVersions() throws {
    #expect(throws: GGUFError.notGGUF(magic: [0x47, 0x47, 0x4D, 0x4C])) { try open(Array("GGML".utf8) + [0, 0, 0, 0]) }
    var old = ByteWriter.ggufHeader(tensors: 0, keys: 0)
    old.bytes[4] = 1
    #expect(throws: GGUFError.unsupportedVersion(1)) { try open(old.bytes) }
    var bigEndian = ByteWriter.ggufHeader(tensors: 0, keys: 0)
    bigEndian.bytes[4...7] = [0, 0, 0, 3]
    #expect(throws: GGUFError.unsupportedVersion(0x0300_0000)) { try open(bigEndian.bytes) }
  }

  @Test func rejectsHugeCountsWithoutAllocating() throws {
    #expect(throws: GGUFError.countTooLarge(what: "tensor", offset: 8, count: 1 << 62, limit: 0)) {
      try open(ByteWriter.ggufHeader(tensors: 1 << 62, keys: 0).bytes)
    }
    #expect(throws: GGUFError.countTooLarge(what: "metadata key", offset: 16, count: UInt64.max, limit: 0)) {
      try open(ByteWriter.ggufHeader(tensors: 0, keys: .max).bytes)
    }
    var string = ByteWriter.ggufHeader(tensors: 0, keys: 1)
    string.u64(1 << 62)
    string.bytes += [UInt8](repeating: 0, count: 16)
    #expect(throws: GGUFError.countTooLarge(what: "metadata key string byte", offset: 24, count: 1 << 62, limit: 16)) {
      try open(string.bytes)
    }
    var array = ByteWriter.ggufHeader(tensors: 0, keys: 1)
    array.string("tokenizer.ggml.tokens")
    array.u32(9)
    array.u32(8)
    array.u64(1 << 61)
    array.bytes += [0, 0, 0, 0, 0, 0, 0, 0]
    #expect(
      throws: GGUFError.countTooLarge(what: "tokenizer.ggml.tokens array element", offset: 61, count: 1 << 61, limit: 1)
    ) {
      try open(array.bytes)
    }
  }

  @Test func rejectsUnknownTypesAndDeepNesting() throws {
    var unknown = ByteWriter.ggufHeader(tensors: 0, keys: 1)
    unknown.string("k")
    unknown.u32(13)
    #expect(throws: GGUFError.unknownValueType(key: "k", code: 13)) { try open(unknown.bytes) }
    var deep = ByteWriter.ggufHeader(tensors: 0, keys: 1)
    deep.string("k")
    deep.u32(9)
    for _ in 0..<6 {
      deep.u32(9)
      deep.u64(1)
    }
    deep.bytes += [UInt8](repeating: 0, count: 64)
    #expect(throws: GGUFError.nestingTooDeep(key: "k", limit: 4)) { try open(deep.bytes) }
  }

  @Test(arguments: [
    (GGUFValue.uint32(0), GGUFError.badAlignment(value: 0, reason: "it must be at least 1")),
    (.uint32(48), .badAlignment(value: 48, reason: "not a power of two")),
    (.uint32(1 << 30), .badAlignment(value: 1 << 30, reason: "larger than 1048576")),
    (.uint64(32), .wrongType(key: "general.alignment", expected: "u32", found: "u64")),
  ])
  func rejectsBadAlignment(value: GGUFValue, error: GGUFError) throws {
    var writer = GGUFWriter()
    writer.metadata = [("general.alignment", value)]
    #expect(throws: error) { try open(writer.bytes()) }
  }

  @Test func rejectsBadDimensions() throws {
    #expect(throws: GGUFError.tooManyDimensions(tensor: "t", count: 5, limit: 4)) {
      try open(withTensor(dims: [1, 1, 1, 1, 1]))
    }
    #expect(throws: GGUFError.invalidDimensions(tensor: "t", dims: [4, 0], reason: "a dimension is 0")) {
      try open(withTensor(dims: [4, 0]))
    }
    #expect(
      throws: GGUFError.invalidDimensions(tensor: "t", dims: [1 << 32, 1 << 32], reason: "the element count overflows")
    ) { try open(withTensor(dims: [1 << 32, 1 << 32])) }
    #expect(throws: GGUFError.invalidDimensions(tensor: "t", dims: [1 << 62], reason: "the byte size overflows")) {
      try open(withTensor(dims: [1 << 62]))
    }
    #expect(
      throws: GGUFError.invalidDimensions(tensor: "t", dims: [48], reason: "Q8_0 rows must be a multiple of 32")
    ) { try open(withTensor(dims: [48], type: 8)) }
  }

  @Test func rejectsBadOffsets() throws {
    #expect(throws: GGUFError.misalignedOffset(tensor: "t", offset: 4, alignment: 32)) {
      try open(withTensor(dims: [4], offset: 4))
    }
    #expect(throws: GGUFError.tensorOutOfBounds(tensor: "t", type: "F32", offset: 64, bytes: 16, dataBytes: 64)) {
      try open(withTensor(dims: [4], offset: 64))
    }
    #expect(throws: GGUFError.tensorOutOfBounds(tensor: "t", type: "F32", offset: 0, bytes: 400, dataBytes: 64)) {
      try open(withTensor(dims: [100]))
    }
  }

  @Test func rejectsATokenizerArrayOfTheWrongElementType() throws {
    var writer = TinyLlama().writer
    let index = writer.metadata.firstIndex { $0.key == "tokenizer.ggml.tokens" }!
    writer.metadata[index].value = .array(GGUFArray(elementType: .uint8, elements: [.uint8(1), .uint8(2)]))
    let path = TestSupport.temporaryDirectory("gguf-bad") + "/tokens.gguf"
    try writer.write(to: path)
    #expect(
      throws: GGUFError.wrongType(key: "tokenizer.ggml.tokens", expected: "array of string", found: "array of u8")
    ) { try BPETokenizer(gguf: try GGUFFile(path: path)) }
  }

  @Test func rejectsDuplicatesAndMissingFiles() throws {
    var writer = GGUFWriter()
    writer.metadata = [("k", .uint8(1)), ("k", .uint8(2))]
    #expect(throws: GGUFError.duplicate(what: "metadata key", name: "k")) { try open(writer.bytes()) }
    #expect(throws: GGUFError.self) { try GGUFFile(path: "/nonexistent/model.gguf") }
  }
}
