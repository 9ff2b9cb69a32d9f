import Foundation
import Tessera
import TesseraTestSupport
import Testing

/// The GGUF reader on every block type and the float weight types: each maps to its dtype with
/// its bytes intact, and hostile files (rows that are not whole super-blocks, data cut short)
/// are rejected with errors naming the tensor and its type.
@Suite struct GGUFBlockTypeTests {
  func open(_ writer: GGUFWriter) throws -> GGUFFile {
    let path = TestSupport.temporaryDirectory("gguf-types") + "/t.gguf"
    try Data(writer.bytes()).write(to: URL(fileURLWithPath: path))
    return try GGUFFile(path: path)
  }

  func open(_ bytes: [UInt8]) throws -> GGUFFile {
    let path = TestSupport.temporaryDirectory("gguf-types") + "/bad.gguf"
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return try GGUFFile(path: path)
  }

  /// ggml's type id, name, block elements and block bytes (ggml-common.h), and the float types.
  static let types: [(UInt32, String, DType, Int, Int)] = [
    (0, "F32", .f32, 1, 4), (1, "F16", .f16, 1, 2), (30, "BF16", .bf16, 1, 2), (2, "Q4_0", .q4_0, 32, 18),
    (3, "Q4_1", .q4_1, 32, 20), (6, "Q5_0", .q5_0, 32, 22), (7, "Q5_1", .q5_1, 32, 24), (8, "Q8_0", .q8_0, 32, 34),
    (10, "Q2_K", .q2_k, 256, 84), (11, "Q3_K", .q3_k, 256, 110), (12, "Q4_K", .q4_k, 256, 144),
    (13, "Q5_K", .q5_k, 256, 176), (14, "Q6_K", .q6_k, 256, 210),
  ]

  @Test(arguments: 0..<types.count) func readsEachType(index: Int) throws {
    let (code, name, dtype, elements, bytes) = Self.types[index]
    let rows = 3, rowLength = elements == 1 ? 8 : 2 * elements
    let data = (0..<(rows * rowLength / elements * bytes)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
    var writer = GGUFWriter()
    writer.tensors = [.init(name: "blk.0.attn_q.weight", dims: [rowLength, rows], typeCode: code, bytes: data)]
    let file = try open(writer)
    let tensor = try file.tensor(named: "blk.0.attn_q.weight")
    #expect(tensor.type == TensorType(dtype, Shape([rows, rowLength])), "\(name)")
    #expect(tensor.bytes == data, "\(name)")
  }

  /// A file with one tensor `t` of type `code`, dims `dims` and `dataBytes` bytes of data.
  func withTensor(_ code: UInt32, dims: [UInt64], dataBytes: Int) -> [UInt8] {
    var out = ByteWriter.ggufHeader(tensors: 1, keys: 0)
    out.string("t")
    out.u32(UInt32(dims.count))
    for dim in dims { out.u64(dim) }
    out.u32(code)
    out.u64(0)
    out.pad(to: 32)
    out.bytes += [UInt8](repeating: 0, count: dataBytes)
    return out.bytes
  }

  @Test(arguments: 0..<types.count) func rejectsRowsThatAreNotWholeBlocks(index: Int) throws {
    let (code, name, _, elements, bytes) = Self.types[index]
    guard elements > 1 else { return }
    // A K-quant row of 576 (SmolLM2's width) is 2.25 super-blocks; a 32-block row of 48 is 1.5.
    let row = UInt64(elements == 256 ? 576 : 48)
    #expect(
      throws: GGUFError.invalidDimensions(
        tensor: "t", dims: [row, 2], reason: "\(name) rows must be a multiple of \(elements)")
    ) { try open(withTensor(code, dims: [row, 2], dataBytes: 4 * bytes)) }
  }

  @Test(arguments: 0..<types.count) func rejectsTruncatedData(index: Int) throws {
    let (code, name, _, elements, bytes) = Self.types[index]
    guard elements > 1 else { return }  // the float types' truncation: GGUFMalformedTests
    // Two rows of two blocks need 4 blocks; the file holds 3 blocks and a few bytes (a cut-off
    // block: its scales present, its codes missing).
    let needed = 4 * bytes, present = 3 * bytes + 6
    let path = TestSupport.temporaryDirectory("gguf-types") + "/cut.gguf"
    try Data(withTensor(code, dims: [UInt64(2 * elements), 2], dataBytes: present)).write(
      to: URL(fileURLWithPath: path))
    let expected = GGUFError.tensorOutOfBounds(
      tensor: "t", type: name, offset: 0, bytes: UInt64(needed), dataBytes: present)
    #expect(throws: expected) { try GGUFFile(path: path) }
    #expect(expected.description.contains("'t' (\(name),"), "\(expected)")
  }
}
