import Tessera
import TesseraTestSupport
import Testing

/// Shape ops, and shape arithmetic folded away at import.
@Suite("ONNX import: shape ops")
struct ShapeImportTests {
  private let x = Tensor((0..<6).map(Double.init), shape: [2, 3])

  @Test func reshapeCopiesZerosAndInfersMinusOne() throws {
    let y = try ImportTesting.single("Reshape", inputs: [x], constants: [i64([0, -1, 1])])
    #expect(y.shape == [2, 3, 1] && y.doubles == x.doubles)
    let flat = try ImportTesting.single(
      "Flatten", inputs: [Tensor(repeating: 1, shape: [2, 3, 4])], [("axis", .int(2))])
    #expect(flat.shape == [6, 4])
  }

  @Test func transposeSqueezeUnsqueeze() throws {
    let t = try ImportTesting.single("Transpose", inputs: [x])
    #expect(t.shape == [3, 2] && t.doubles == [0, 3, 1, 4, 2, 5])
    let u = try ImportTesting.single("Unsqueeze", inputs: [x], constants: [i64([0, -1])])
    #expect(u.shape == [1, 2, 3, 1])
    let old = try ImportTesting.single("Unsqueeze", inputs: [x], [("axes", .ints([1]))], opset: 11)
    #expect(old.shape == [2, 1, 3])
    let s = try ImportTesting.single("Squeeze", inputs: [Tensor(repeating: 2, shape: [1, 3, 1])])
    #expect(s.shape == [3])
    #expect(
      ImportTesting.errorText { try ImportTesting.single("Squeeze", inputs: [x], constants: [i64([1])]) }
        == "ONNX node 'node0' (Squeeze, opset 17): cannot squeeze axis 1 of size 3")
  }

  @Test func sliceClampsCountsFromTheEndAndStepsBackwards() throws {
    let v = Tensor((0..<10).map(Double.init), shape: [10])
    // [-3:100] → 7 8 9; [8:1:-3] → 8 5 2; [100:-100:-4] → 9 5 1.
    #expect(try ImportTesting.single("Slice", inputs: [v], constants: [i64([-3]), i64([100])]).doubles == [7, 8, 9])
    #expect(
      try ImportTesting.single("Slice", inputs: [v], constants: [i64([8]), i64([1]), i64([0]), i64([-3])]).doubles
        == [8, 5, 2])
    #expect(
      try ImportTesting.single("Slice", inputs: [v], constants: [i64([100]), i64([-100]), nil, i64([-4])]).doubles
        == [9, 5, 1])
    let m = try ImportTesting.single("Slice", inputs: [x], constants: [i64([1]), i64([3]), i64([-1])])
    #expect(m.shape == [2, 2] && m.doubles == [1, 2, 4, 5])
    let old = try ImportTesting.single(
      "Slice", inputs: [x], [("starts", .ints([1])), ("ends", .ints([2])), ("axes", .ints([0]))], opset: 9)
    #expect(old.doubles == [3, 4, 5])
  }

  @Test func concatSplitGatherExpand() throws {
    let c = try ImportTesting.single("Concat", inputs: [x, x], [("axis", .int(-1))])
    #expect(c.shape == [2, 6] && c.doubles == [0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5])
    // Negative indices count from the end, known at import or not.
    let known = try ImportTesting.single("Gather", inputs: [x], constants: [i64([-1, 0])], [("axis", .int(1))])
    #expect(known.doubles == [2, 0, 5, 3])
    let runtime = try ImportTesting.single("Gather", inputs: [x, i64([-1, 0])])
    #expect(runtime.doubles == [3, 4, 5, 0, 1, 2])
    // Expand broadcasts both ways: [2,1] with [1,3] gives [2,3].
    let e = try ImportTesting.single("Expand", inputs: [Tensor([1, 2], shape: [2, 1])], constants: [i64([1, 3])])
    #expect(e.shape == [2, 3] && e.doubles == [1, 1, 1, 2, 2, 2])
    var writer = ONNXModelWriter(opset: 18)
    writer.input("x", .f32, [5])
    writer.node("Split", ["x"], ["a", "b"], [("num_outputs", .int(2))])
    writer.output("a")
    writer.output("b")
    let parts = try ImportTesting.run(writer, [Tensor([1, 2, 3, 4, 5], shape: [5])])
    #expect(parts.map(\.doubles) == [[1, 2, 3], [4, 5]])
  }

  @Test func generatorsMakeConstants() throws {
    var writer = ONNXModelWriter()
    writer.initializer("shape", i64([2, 2]))
    writer.initializer("start", Tensor([1], shape: [], dtype: .i64))
    writer.initializer("limit", Tensor([10], shape: [], dtype: .i64))
    writer.initializer("delta", Tensor([4], shape: [], dtype: .i64))
    writer.node("ConstantOfShape", ["shape"], ["filled"], [("value", .tensor(Tensor([7], shape: [1], dtype: .i32)))])
    writer.node("Range", ["start", "limit", "delta"], ["range"])
    writer.node("Constant", [], ["k"], [("value_floats", .floats([0.5, 1.5]))])
    writer.output("filled", .i32)
    writer.output("range", .i64)
    writer.output("k")
    let results = try ImportTesting.run(writer, [])
    #expect(results[0] == Tensor([7, 7, 7, 7], shape: [2, 2], dtype: .i32))
    #expect(results[1] == i64([1, 5, 9]))
    #expect(results[2] == Tensor([0.5, 1.5], shape: [2]))
  }

  /// The pattern exporters emit for `x.view(x.size(0), -1)`: Shape, Gather, Unsqueeze, Concat,
  /// Reshape. With the batch fixed by an input shape, it folds into one `reshape`.
  @Test func shapeArithmeticFoldsAwayWithAFixedBatch() throws {
    var writer = ONNXModelWriter()
    writer.input("x", .f32, [.symbol("batch"), 3, 4])
    writer.initializer("zero", Tensor([0], shape: [], dtype: .i64))
    writer.initializer("axes", i64([0]))
    writer.initializer("minus_one", i64([-1]))
    writer.node("Shape", ["x"], ["shape"])
    writer.node("Gather", ["shape", "zero"], ["batch"])
    writer.node("Unsqueeze", ["batch", "axes"], ["batch1"])
    writer.node("Concat", ["batch1", "minus_one"], ["target"], [("axis", .int(0))])
    writer.node("Reshape", ["x", "target"], ["y"])
    writer.output("y", .f32, [.symbol("batch"), 12])
    #expect(
      ImportTesting.errorText { try ImportTesting.importGraph(writer) }
        == "ONNX graph: input 'x' has a symbolic dim 'batch' at axis 0; fix it with --input-shape x=D0,D1,…")
    let graph = try ImportTesting.importGraph(writer, shapes: ["x": [2, 3, 4]])
    #expect(graph.nodes.map(\.kind) == [.reshape])
    #expect(graph.resultTypes == [TensorType(.f32, [2, 12])])
    #expect(graph.arguments.map { graph[$0].name } == ["x"] && graph.results.map { graph[$0].name } == ["y"])
  }
}
