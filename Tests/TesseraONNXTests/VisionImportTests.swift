import Tessera
import TesseraTestSupport
import Testing

/// `Conv`, the pools and `Pad` against values derived by hand.
@Suite("ONNX import: convolution, pooling and pad")
struct VisionImportTests {
  private let grid = Tensor((1...9).map(Double.init), shape: [1, 1, 3, 3])
  private let ones = Tensor(repeating: 1, shape: [1, 1, 2, 2])
  private let bias = Tensor([10], shape: [1])

  @Test func convAutoPadSameUpperAndLowerWithBias() throws {
    // Two windows per axis (ceil(3 / 2)); one pad in all, after (UPPER) or before (LOWER).
    // UPPER windows: {1,2,4,5} {3,6} {7,8} {9}; LOWER: {1} {2,3} {4,7} {5,6,8,9}; plus the bias 10.
    for (mode, expected) in [("SAME_UPPER", [22.0, 19, 25, 19]), ("SAME_LOWER", [11.0, 15, 21, 38])] {
      let y = try ImportTesting.single(
        "Conv", inputs: [grid], constants: [ones, bias], [("auto_pad", .string(mode)), ("strides", .ints([2, 2]))])
      #expect(y.shape == [1, 1, 2, 2] && y.doubles == expected, "\(mode)")
    }
  }

  @Test func oneDimensionalConvAndPool() throws {
    // y[i] = x[i-1] - x[i+1] with zero padding.
    let x = Tensor([1, 2, 3, 4, 5], shape: [1, 1, 5])
    let y = try ImportTesting.single(
      "Conv", inputs: [x], constants: [Tensor([1, 0, -1], shape: [1, 1, 3])], [("pads", .ints([1, 1]))])
    #expect(y.shape == [1, 1, 5] && y.doubles == [-2, -2, -2, -2, 4])
    let pooled = try ImportTesting.single(
      "MaxPool", inputs: [x], [("kernel_shape", .ints([2])), ("strides", .ints([2]))])
    #expect(pooled.shape == [1, 1, 2] && pooled.doubles == [2, 4])
  }

  @Test func averagePoolCountsPaddingOnlyWhenAsked() throws {
    // Windows [-1, 0], [1, 2], [3, 4] over [1, 2, 3, 4] with one pad each side.
    let x = Tensor([1, 2, 3, 4], shape: [1, 1, 1, 4])
    let attributes: [(String, ONNXModelWriter.AttributeValue)] = [
      ("kernel_shape", .ints([1, 2])), ("strides", .ints([1, 2])), ("pads", .ints([0, 1, 0, 1])),
    ]
    #expect(try ImportTesting.single("AveragePool", inputs: [x], attributes).doubles == [1, 2.5, 4])
    let including = try ImportTesting.single("AveragePool", inputs: [x], attributes + [("count_include_pad", .int(1))])
    #expect(including.doubles == [0.5, 2.5, 2])
  }

  @Test func globalPools() throws {
    let x = Tensor((0..<8).map(Double.init), shape: [1, 2, 2, 2])
    let mean = try ImportTesting.single("GlobalAveragePool", inputs: [x])
    #expect(mean.shape == [1, 2, 1, 1] && mean.doubles == [1.5, 5.5])
    #expect(try ImportTesting.single("GlobalMaxPool", inputs: [x]).doubles == [3, 7])
  }

  @Test func padAsInputsAndAsAttributes() throws {
    let x = Tensor([1, 2, 3, 4], shape: [2, 2])
    let constant = try ImportTesting.single(
      "Pad", inputs: [x], constants: [i64([0, 1, 1, 0]), Tensor([9], shape: [])], opset: 11)
    #expect(constant.shape == [3, 3] && constant.doubles == [9, 1, 2, 9, 3, 4, 9, 9, 9])
    let reflect = try ImportTesting.single(
      "Pad", inputs: [Tensor([1, 2, 3], shape: [3])], [("mode", .string("reflect")), ("pads", .ints([2, 1]))],
      opset: 7)
    #expect(reflect.doubles == [3, 2, 1, 2, 3, 2])
  }

  @Test func declinedWithTheNodeAndReason() {
    let volume = Tensor(repeating: 1, shape: [1, 1, 2, 2, 2])
    #expect(
      ImportTesting.errorText {
        try ImportTesting.single("Conv", inputs: [volume], constants: [Tensor(repeating: 1, shape: [1, 1, 1, 1, 1])])
      } == "ONNX node 'node0' (Conv, opset 17): only 1-D and 2-D windows are supported; the input is f32[1,1,2,2,2]")
    #expect(
      ImportTesting.errorText {
        try ImportTesting.single("Conv", inputs: [grid], constants: [ones], [("kernel_shape", .ints([3, 3]))])
      } == "ONNX node 'node0' (Conv, opset 17): kernel_shape [3, 3] differs from the weights' [2, 2]")
    #expect(
      ImportTesting.errorText {
        try ImportTesting.single(
          "Pad", inputs: [grid], constants: [i64([0, 0, 1, 1, 0, 0, 1, 1])], [("mode", .string("wrap"))])
      } == "ONNX node 'node0' (Pad, opset 17): mode 'wrap' is not supported")
  }
}
