import Foundation
import Tessera
import TesseraTestSupport
import Testing

/// Elementwise ONNX ops against values worked out by hand.
@Suite("ONNX import: elementwise ops")
struct ElementwiseImportTests {
  private let x = Tensor([-2, -0.5, 0, 1.5], shape: [2, 2])

  @Test func binaryOpsBroadcast() throws {
    let row = Tensor([10, 20], shape: [2])
    #expect(try ImportTesting.single("Add", inputs: [x, row]).doubles == [8, 19.5, 10, 21.5])
    #expect(try ImportTesting.single("Sub", inputs: [x], constants: [row]).doubles == [-12, -20.5, -10, -18.5])
    #expect(try ImportTesting.single("Mul", inputs: [x, row]).doubles == [-20, -10, 0, 30])
    #expect(try ImportTesting.single("Div", inputs: [x, row]).floats == [-0.2, -0.025, 0, 0.075])
    #expect(
      try ImportTesting.single("Pow", inputs: [row], constants: [Tensor([2], shape: [], dtype: .i64)]).doubles == [
        100, 400,
      ])
  }

  @Test func integerDivisionTruncatesTowardZero() throws {
    let a = Tensor([-7, 7, -7, 7, 6, -6, 0], shape: [7], dtype: .i32)
    let b = Tensor([2, -2, -2, 2, 3, 4, -5], shape: [7], dtype: .i32)
    // C/ONNX: -7/2 = -3 (numpy's // gives -4), 7/-2 = -3, -7/-2 = 3, 7/2 = 3, 6/3 = 2, -6/4 = -1.
    #expect(try ImportTesting.single("Div", inputs: [a, b]).doubles == [-3, -3, 3, 3, 2, -1, 0])
    let a64 = Tensor([-9, 9], shape: [2], dtype: .i64)
    #expect(
      try ImportTesting.single("Div", inputs: [a64], constants: [Tensor([4], shape: [], dtype: .i64)]).doubles == [
        -2, 2,
      ])
  }

  @Test func unaryOpsAndActivations() throws {
    #expect(try ImportTesting.single("Relu", inputs: [x]).doubles == [0, 0, 0, 1.5])
    #expect(try ImportTesting.single("Abs", inputs: [x]).doubles == [2, 0.5, 0, 1.5])
    #expect(try ImportTesting.single("Neg", inputs: [x]).doubles == [2, 0.5, 0, -1.5])
    let sigmoid = try ImportTesting.single("Sigmoid", inputs: [x]).doubles
    #expect(close(sigmoid, [-2, -0.5, 0, 1.5].map { 1 / (1 + Foundation.exp(-$0)) }))
    // LeakyRelu alpha 0.1, HardSigmoid 0.2x+0.5 clamped, HardSwish x*relu6(x+3)/6.
    #expect(
      try ImportTesting.single("LeakyRelu", inputs: [x], [("alpha", .float(0.25))]).doubles == [-0.5, -0.125, 0, 1.5])
    #expect(close(try ImportTesting.single("HardSigmoid", inputs: [x]).doubles, [0.1, 0.4, 0.5, 0.8]))
    #expect(
      close(
        try ImportTesting.single("HardSwish", inputs: [Tensor([-4, -1, 0, 4], shape: [4])]).doubles,
        [0, -1.0 / 3, 0, 4]))
    let gelu = try ImportTesting.single("Gelu", inputs: [Tensor([1], shape: [1])], opset: 20).doubles[0]
    #expect(Swift.abs(gelu - 0.8413447460685429) < 1e-6)  // x * Φ(x) at 1
    let erf = try ImportTesting.single("Erf", inputs: [Tensor([0.5], shape: [1])]).doubles[0]
    #expect(Swift.abs(erf - 0.5204998778130465) < 1e-6)
  }

  @Test func comparisonsLogicAndWhere() throws {
    let a = Tensor([1, 2, 3], shape: [3])
    let b = Tensor([2], shape: [1])
    #expect(try ImportTesting.single("Less", inputs: [a, b]).doubles == [1, 0, 0])
    #expect(try ImportTesting.single("GreaterOrEqual", inputs: [a, b]).doubles == [0, 1, 1])
    #expect(try ImportTesting.single("Equal", inputs: [a, b]).doubles == [0, 1, 0])
    let p = Tensor([1, 1, 0, 0], shape: [4], dtype: .bool)
    let q = Tensor([1, 0, 1, 0], shape: [4], dtype: .bool)
    #expect(try ImportTesting.single("And", inputs: [p, q]).doubles == [1, 0, 0, 0])
    #expect(try ImportTesting.single("Or", inputs: [p, q]).doubles == [1, 1, 1, 0])
    #expect(try ImportTesting.single("Xor", inputs: [p, q]).doubles == [0, 1, 1, 0])
    #expect(try ImportTesting.single("Not", inputs: [p]).doubles == [0, 0, 1, 1])
    let chosen = try ImportTesting.single(
      "Where", inputs: [p, Tensor([1, 2, 3, 4], shape: [4])], constants: [Tensor([-1], shape: [])])
    #expect(chosen.doubles == [1, 2, -1, -1])
  }

  @Test func clipFromInputsAndFromOldAttributes() throws {
    let bounds = [Tensor([-1], shape: []), Tensor([1], shape: [])]
    #expect(try ImportTesting.single("Clip", inputs: [x], constants: bounds).doubles == [-1, -0.5, 0, 1])
    #expect(try ImportTesting.single("Clip", inputs: [x], constants: [nil, bounds[1]]).doubles == [-2, -0.5, 0, 1])
    #expect(
      try ImportTesting.single("Clip", inputs: [x], [("min", .float(-0.25)), ("max", .float(0.5))], opset: 10).doubles
        == [-0.25, -0.25, 0, 0.5])
  }

  @Test func variadicOpsAndCast() throws {
    let a = Tensor([1, 5], shape: [2]), b = Tensor([4, 2], shape: [2]), c = Tensor([3], shape: [1])
    #expect(try ImportTesting.single("Sum", inputs: [a, b, c]).doubles == [8, 10])
    #expect(try ImportTesting.single("Max", inputs: [a, b, c]).doubles == [4, 5])
    #expect(
      try ImportTesting.single("Mean", inputs: [a, b, c]).doubles == [8.0 / 3, 10.0 / 3].map { Double(Float($0)) })
    let cast = try ImportTesting.single("Cast", inputs: [Tensor([-1.7, 2.9], shape: [2])], [("to", .int(7))])
    #expect(cast.dtype == .i64 && cast.doubles == [-1, 2])
    #expect(
      ImportTesting.errorText { try ImportTesting.single("Cast", inputs: [a], [("to", .int(11))]) }
        == "ONNX node 'node0' (Cast, opset 17): cannot cast to DOUBLE: Tessera supports FLOAT, UINT8, INT8, INT32, INT64, BOOL, FLOAT16, BFLOAT16"
    )
  }
}
