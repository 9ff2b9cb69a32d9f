import Foundation
import Tessera
import TesseraTestSupport
import Testing

/// The protobuf reader on models built by the test encoder: every field the importer uses comes
/// back as written, in both of protobuf's encodings of repeated numbers.
@Suite("ONNX reader")
struct ONNXReaderTests {
  @Test func decodesModelGraphNodesAndAttributes() throws {
    var writer = ONNXModelWriter(opset: 13)
    writer.input("x", .f32, [.symbol("batch"), 4])
    writer.initializer("w", Tensor([1, 2, 3, 4], shape: [4, 1]))
    writer.node(
      "Gemm", ["x", "w", ""], ["y"], name: "gemm0",
      [
        ("alpha", .float(0.5)), ("transB", .int(1)), ("mode", .string("fast")), ("perm", .ints([1, -2])),
        ("scales", .floats([0.25, -1])),
      ])
    writer.output("y", .f32, [.symbol("batch"), 1])
    let model = try ONNXModel(bytes: writer.bytes())

    #expect(model.irVersion == 8)
    #expect(model.producerName == "tessera-tests")
    #expect(model.opset("") == 13 && model.opset("ai.onnx") == 13 && model.opset("com.example") == nil)
    let graph = model.graph
    #expect(graph.name == "test_graph")
    #expect(graph.inputs.map(\.name) == ["x"] && graph.outputs.map(\.name) == ["y"])
    #expect(graph.inputs[0].elementType == 1)
    #expect(graph.inputs[0].dims == [.symbol("batch"), .value(4)])
    let node = try #require(graph.nodes.first)
    #expect(node.name == "gemm0" && node.opType == "Gemm" && node.domain.isEmpty)
    #expect(node.inputs == ["x", "w", ""] && node.outputs == ["y"])
    #expect(node.attribute("alpha")?.kind == .float && node.attribute("alpha")?.float == 0.5)
    #expect(node.attribute("transB")?.int == 1)
    #expect(node.attribute("mode")?.string == Array("fast".utf8))
    #expect(node.attribute("perm")?.ints == [1, -2])
    #expect(node.attribute("scales")?.floats == [0.25, -1])
    #expect(try graph.initializers[0].tensor() == Tensor([1, 2, 3, 4], shape: [4, 1]))
  }

  @Test(
    "typed data fields and raw_data give the same tensor", arguments: [DType.f32, .i64, .i32, .i8, .u8, .bool, .f16])
  func typedAndRawTensors(dtype: DType) throws {
    let values: [Double] =
      dtype == .bool ? [1, 0, 1, 1, 0, 0] : dtype == .u8 ? [0, 1, 2, 200, 7, 9] : [-3, 0, 2, 5, -1, 7]
    let tensor = Tensor(values, shape: [2, 3], dtype: dtype)
    for typed in [false, true] {
      let proto = try ONNXTensor(bytes: ONNXModelWriter.tensorProto("t", tensor, typed: typed))
      #expect(proto.name == "t" && proto.dims == [2, 3])
      #expect(try proto.tensor() == tensor, "typed: \(typed)")
    }
  }

  @Test func unpackedRepeatedFieldsAndUnknownFieldsAreRead() throws {
    var proto = ProtobufWriter()
    proto.int(1, 2)  // dims, one varint per element
    proto.int(1, 2)
    proto.int(2, 7)  // INT64
    proto.int(7, -5)  // int64_data, unpacked
    proto.int(7, 6)
    proto.packedInts(7, [1 << 40, -1])
    proto.int(99, 12345)  // fields a reader does not know are skipped, of every wire type
    proto.float(98, 1.5)
    proto.key(97, wireType: 1)
    proto.raw([UInt8](repeating: 0xff, count: 8))
    proto.string(96, "ignored")
    let tensor = try ONNXTensor(bytes: proto.bytes).tensor()
    #expect(tensor.type == TensorType(.i64, [2, 2]))
    #expect(tensor.int64s == [-5, 6, 1 << 40, -1])
  }

  @Test func externalDataIsReadBesideTheModel() throws {
    let directory = TestSupport.temporaryDirectory("onnx-external")
    let values: [Float] = [1.5, -2, 3.25]
    let payload = [UInt8](repeating: 0xee, count: 8) + Tensor(floats: values, shape: [3]).bytes
    try Data(payload).write(to: URL(fileURLWithPath: directory + "/weights.bin"))
    var proto = ProtobufWriter()
    proto.packedInts(1, [3])
    proto.int(2, 1)
    proto.string(8, "w")
    for (key, value) in [("location", "weights.bin"), ("offset", "8"), ("length", "12")] {
      proto.message(13) {
        $0.string(1, key)
        $0.string(2, value)
      }
    }
    proto.int(14, 1)  // data_location = EXTERNAL
    let tensor = try ONNXTensor(bytes: proto.bytes).tensor(directory: directory)
    #expect(tensor.floats == values)
  }
}
