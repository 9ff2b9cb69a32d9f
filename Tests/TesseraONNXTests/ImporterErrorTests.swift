import Tessera
import TesseraTestSupport
import Testing

/// What the importer says when it cannot import a model; nothing partial is returned.
@Suite("ONNX import: errors")
struct ImporterErrorTests {
  @Test func anUnsupportedOpNamesTheNodeOpTypeAndOpset() {
    var writer = ONNXModelWriter(opset: 13)
    writer.input("x", .f32, [1, 3, 8, 8])
    writer.node("Relu", ["x"], ["r"])
    writer.node("LRN", ["r"], ["y"], name: "norm1", [("size", .int(3))])
    writer.output("y")
    #expect(
      ImportTesting.errorText { try ImportTesting.importGraph(writer) }
        == "ONNX node 'norm1': op LRN (opset 13) is not supported by the importer (see 'tessera import --list-ops')")
    var custom = ONNXModelWriter()
    custom.input("x", .f32, [2])
    custom.node("Relu", ["x"], ["y"])
    custom.nodes[0].opType = "FusedGelu"
    custom.output("y")
    #expect(
      ImportTesting.errorText { try ImportTesting.importGraph(custom) }?.contains("op FusedGelu (opset 17)") == true)
  }

  @Test func opsetsOutsideTheKnownRangeAreRejected() {
    var writer = ONNXModelWriter(opset: 99)
    writer.input("x", .f32, [2])
    writer.node("Relu", ["x"], ["y"])
    writer.output("y")
    #expect(
      ImportTesting.errorText { try ImportTesting.importGraph(writer) }
        == "ONNX: the model imports opset 99 of domain 'ai.onnx'; the importer knows 7–28")
  }

  @Test func shapesThatMustBeKnownAndInputShapeMistakes() {
    var writer = ONNXModelWriter()
    writer.input("x", .f32, [2, 3])
    writer.input("shape", .i64, [2])
    writer.node("Reshape", ["x", "shape"], ["y"], name: "reshape")
    writer.output("y")
    #expect(
      ImportTesting.errorText { try ImportTesting.importGraph(writer) }
        == "ONNX node 'reshape' (Reshape, opset 17): input 1 'shape' (shape) must be known at import time; give the model's input shapes with --input-shape so it can be computed"
    )
    #expect(
      ImportTesting.errorText { try ImportTesting.importGraph(writer, shapes: ["z": [1]]) }
        == "ONNX graph: --input-shape names 'z', which is not a graph input (inputs: x, shape)")
    #expect(
      ImportTesting.errorText { try ImportTesting.importGraph(writer, shapes: ["x": [6]]) }
        == "ONNX graph: --input-shape x gives 1 dims; the model declares rank 2")
  }

  @Test func aDeclaredOutputTypeThatDiffersIsAnError() {
    var writer = ONNXModelWriter()
    writer.input("x", .f32, [2, 3])
    writer.node("Transpose", ["x"], ["y"])
    writer.output("y", .f32, [2, 3])
    #expect(
      ImportTesting.errorText { try ImportTesting.importGraph(writer) }
        == "ONNX graph: output 'y' is declared with dim 2 at axis 0; the import computes f32[3,2]")
  }

  @Test func namesBecomeValidUniqueTirNamesAndTheGraphRoundTrips() throws {
    var writer = ONNXModelWriter()
    writer.input("input:0", .f32, [2])
    writer.initializer("onnx::Mul_7", Tensor([3], shape: []))
    writer.node("Mul", ["input:0", "onnx::Mul_7"], ["/layer/Mul_output_0"])
    writer.node("Relu", ["/layer/Mul_output_0"], ["t0"])
    writer.output("t0")
    let graph = try ImportTesting.importGraph(writer)
    #expect(graph.arguments.map { graph[$0].name } == ["input_0"])
    #expect(graph.results.map { graph[$0].name } == ["t0"])
    #expect(graph.nodes.map { graph[$0.result].name } == ["onnx__Mul_7", "_layer_Mul_output_0", "t0"])
    #expect(try Parser.parse(Printer.print(graph)).functions == [graph])
  }

  @Test func hostileSizesAreErrorsNotOverflows() {
    var reshape = ONNXModelWriter()
    reshape.input("x", .f32, [2])
    reshape.initializer("shape", i64([1 << 40, 1 << 40]))
    reshape.node("Reshape", ["x", "shape"], ["y"], name: "r")
    reshape.output("y")
    #expect(
      ImportTesting.errorText { try ImportTesting.importGraph(reshape) }
        == "ONNX node 'r' (Reshape, opset 17): the target shape with dims [1099511627776, 1099511627776] would hold more than 1099511627776 elements"
    )
    var matmul = ONNXModelWriter()
    matmul.input("a", .f32, [2_097_152, 1])
    matmul.input("b", .f32, [1, 2_097_152])
    matmul.node("MatMul", ["a", "b"], ["y"], name: "m")
    matmul.output("y")
    #expect(
      ImportTesting.errorText { try ImportTesting.importGraph(matmul) }
        == "ONNX node 'm' (MatMul, opset 17): its result with dims [2097152, 2097152] would hold more than 1099511627776 elements"
    )
    for (name, delta, message) in [
      ("zero_delta", 0.0, "delta must be non-zero and every bound finite"),
      ("huge", 1, "would make more than the 67108864 elements the importer writes out"),
    ] {
      var range = ONNXModelWriter()
      range.initializer("start", Tensor([0], shape: [], dtype: .i64))
      range.initializer("limit", Tensor([1e15], shape: [], dtype: .i64))
      range.initializer("delta", Tensor([delta], shape: [], dtype: .i64))
      range.node("Range", ["start", "limit", "delta"], ["y"], name: name)
      range.output("y")
      #expect(
        ImportTesting.errorText { try ImportTesting.importGraph(range) }
          == "ONNX node '\(name)' (Range, opset 17): \(message)")
    }
  }
}
