import Foundation
import Tessera
import TesseraTestSupport
import Testing

/// Hostile and broken files: each is rejected with an error that names what was read and where,
/// before any large allocation, and never traps.
@Suite("ONNX malformed input")
struct ONNXMalformedTests {
  private var validModel: [UInt8] {
    var writer = ONNXModelWriter()
    writer.input("x", .f32, [2, 3])
    writer.initializer("b", Tensor([1, 2, 3], shape: [3]))
    writer.node("Add", ["x", "b"], ["y"], [("note", .string("hello"))])
    writer.output("y", .f32, [2, 3])
    return writer.bytes()
  }

  private func message(_ bytes: [UInt8]) -> String? {
    do {
      _ = try ONNXModel(bytes: bytes)
      return nil
    } catch {
      return error.description
    }
  }

  @Test func everyTruncationIsAnErrorOrAModelNeverATrap() {
    let bytes = validModel
    var errors = 0
    for length in 0..<bytes.count where message(Array(bytes.prefix(length))) != nil { errors += 1 }
    // Cutting inside the graph message always breaks a length; only cuts between whole
    // top-level fields after the graph (the opset import) can leave a valid model.
    #expect(errors >= bytes.count - 8)
  }

  @Test func aLengthPastTheEndNamesTheFieldAndOffset() {
    var writer = ProtobufWriter()
    writer.key(7, wireType: 2)  // graph
    writer.raw(ProtobufWriter.varint(1 << 40))
    writer.raw([0, 1, 2])
    #expect(
      message(writer.bytes)
        == "ONNX: model.graph at byte 7 needs 1099511627776 bytes, only 3 remain (truncated or corrupt file)")
  }

  @Test func anOverlongVarintIsRejected() {
    let bytes: [UInt8] = [0x08] + [UInt8](repeating: 0xff, count: 10) + [0x01]
    #expect(message(bytes) == "ONNX: model.ir_version at byte 1 is not a valid varint")
  }

  @Test("unknown wire types", arguments: [3, 4, 6, 7])
  func unknownWireTypes(wireType: Int) {
    var writer = ProtobufWriter()
    writer.key(7, wireType: wireType)
    #expect(message(writer.bytes) == "ONNX: model field 7 at byte 0 has unknown protobuf wire type \(wireType)")
  }

  @Test func fieldNumberZeroAndWrongWireTypes() {
    #expect(message([0x02, 0x00]) == "ONNX: model at byte 0 has field number 0")
    var writer = ProtobufWriter()
    writer.int(7, 3)  // graph as a varint
    #expect(message(writer.bytes) == "ONNX: model.graph at byte 0 should be lengthDelimited, found wire type 0")
  }

  @Test func deeplyNestedSubgraphsStopAtTheLimit() {
    // An attribute holding a graph holding a node holding an attribute … 200 levels down.
    var inner: [UInt8] = []
    for _ in 0..<200 {
      var attribute = ProtobufWriter()
      attribute.string(1, "body")
      attribute.data(6, inner)
      var node = ProtobufWriter()
      node.string(4, "If")
      node.data(5, attribute.bytes)
      var graph = ProtobufWriter()
      graph.data(1, node.bytes)
      inner = graph.bytes
    }
    var model = ProtobufWriter()
    model.data(7, inner)
    let text = message(model.bytes)
    #expect(text?.hasPrefix("ONNX: model.graph.node[0].attribute[0].g.node[0]") == true)
    #expect(text?.hasSuffix("nests messages deeper than 64") == true)
  }

  @Test func absurdAndNegativeDimsAreRejectedBeforeAllocating() throws {
    let huge = try ONNXTensor(bytes: tensorBytes(dims: [1 << 31, 1 << 31, 4], type: 1))
    #expect(
      errorText { try huge.tensor() }
        == "ONNX: tensor 'w': dimensions [2147483648, 2147483648, 4] hold more than 1099511627776 elements")
    let negative = try ONNXTensor(bytes: tensorBytes(dims: [2, -1], type: 1))
    #expect(errorText { try negative.tensor() } == "ONNX: tensor 'w': negative dimension in [2, -1]")
    let deep = try ONNXTensor(bytes: tensorBytes(dims: [Int64](repeating: 1, count: 40), type: 1))
    #expect(errorText { try deep.tensor() } == "ONNX: tensor 'w': 40 dimensions (at most 32)")
  }

  @Test func dataThatDoesNotMatchItsTypeIsRejected() throws {
    var raw = ProtobufWriter()
    raw.raw(tensorBytes(dims: [2, 2], type: 1))
    raw.data(9, [0, 0, 128, 63])  // one float for four elements
    #expect(
      errorText { try ONNXTensor(bytes: raw.bytes).tensor() }
        == "ONNX: tensor 'w': raw_data has 4 bytes; f32[2,2] needs 16")
    var typed = ProtobufWriter()
    typed.raw(tensorBytes(dims: [3], type: 7))
    typed.packedInts(7, [1, 2])
    #expect(
      errorText { try ONNXTensor(bytes: typed.bytes).tensor() }
        == "ONNX: tensor 'w': int64_data has 2 elements; i64[3] needs 3")
    let double = try ONNXTensor(bytes: tensorBytes(dims: [1], type: 11))
    #expect(errorText { try double.tensor() }?.hasPrefix("ONNX: tensor 'w' has element type DOUBLE (11)") == true)
    var packed = ProtobufWriter()
    packed.raw(tensorBytes(dims: [1], type: 1))
    packed.data(4, [0, 0, 0])  // packed floats of 3 bytes
    #expect(
      errorText { try ONNXTensor(bytes: packed.bytes) }
        == "ONNX: tensor.float_data: packed length 3 is not a multiple of 4")
  }

  @Test func externalDataMustStayInsideTheModelsFolderAndFile() throws {
    let directory = TestSupport.temporaryDirectory("onnx-external-bad")
    try Data([1, 2, 3, 4]).write(to: URL(fileURLWithPath: directory + "/w.bin"))
    func external(_ entries: [(String, String)]) throws -> ONNXTensor {
      var proto = ProtobufWriter()
      proto.raw(tensorBytes(dims: [2], type: 1))
      for (key, value) in entries {
        proto.message(13) {
          $0.string(1, key)
          $0.string(2, value)
        }
      }
      proto.int(14, 1)
      return try ONNXTensor(bytes: proto.bytes)
    }
    let escape = try external([("location", "../../etc/passwd")])
    #expect(
      errorText { try escape.tensor(directory: directory) }
        == "ONNX: external data of tensor 'w': location '../../etc/passwd' must be a relative path inside the model's folder"
    )
    let absolute = try external([("location", "/etc/passwd")])
    #expect(errorText { try absolute.tensor(directory: directory) }?.contains("must be a relative path") == true)
    let short = try external([("location", "w.bin")])
    #expect(
      errorText { try short.tensor(directory: directory) }
        == "ONNX: external data of tensor 'w': 8 bytes at offset 0 end past the end of '\(directory)/w.bin' (4 bytes)")
    let missing = try external([("location", "absent.bin")])
    #expect(errorText { try missing.tensor(directory: directory) }?.contains("cannot open") == true)
  }

  /// A TensorProto named `w` with `dims` and element type `type`, and no data.
  private func tensorBytes(dims: [Int64], type: Int64) -> [UInt8] {
    var proto = ProtobufWriter()
    proto.packedInts(1, dims)
    proto.int(2, type)
    proto.string(8, "w")
    return proto.bytes
  }

  private func errorText<T>(_ body: () throws -> T) -> String? {
    do {
      _ = try body()
      return nil
    } catch {
      return "\(error)"
    }
  }
}
