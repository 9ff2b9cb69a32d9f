import TesseraIR
import Testing

/// Shapes and errors of `conv2d`, the pools and `pad`, with the output sizes derived by hand from
/// `(input + pads - dilation·(kernel-1) - 1) / stride + 1`.
@Suite("Shape inference of the window ops and pad")
struct WindowTypeInferenceTests {
  private let image = TensorType(.f32, [1, 4, 224, 224])

  @Test func convolutionShapes() throws {
    // ResNet's stem: 7x7 stride 2 pad 3 on 224 → (224 + 6 - 7) / 2 + 1 = 112.
    let stem = TensorType(.f32, [64, 4, 7, 7])
    #expect(
      try infer(.conv2d, [image, stem], ["strides": .ints([2, 2]), "pads": .ints([3, 3, 3, 3])])
        == TensorType(.f32, [1, 64, 112, 112]))
    // Depthwise 3x3 with dilation 2 and no padding: 224 - 2·2 = 220.
    #expect(
      try infer(.conv2d, [image, TensorType(.f32, [8, 1, 3, 3])], ["groups": .int(4), "dilations": .ints([2, 2])])
        == TensorType(.f32, [1, 8, 220, 220]))
  }

  @Test func convolutionErrors() {
    #expect(
      failure(.conv2d, [image, TensorType(.f32, [6, 1, 3, 3])], ["groups": .int(4)])
        == "groups = 4 must be >= 1 and divide the input channels (4) and the output channels (6)")
    #expect(
      failure(.conv2d, [image, TensorType(.f32, [8, 2, 3, 3])])
        == "weights f32[8,2,3,3] take 2 channels per group, but the input f32[1,4,224,224] has 4 in 1 group")
    #expect(
      failure(.conv2d, [TensorType(.f32, [4, 5, 5]), TensorType(.f32, [2, 4, 3, 3])])
        == "conv2d needs an NCHW input of rank 4, found f32[4,5,5]")
    #expect(
      failure(.conv2d, [TensorType(.f32, [1, 1, 2, 9]), TensorType(.f32, [1, 1, 3, 3])])
        == "the window spans 3 along the height but the padded input has 2 ([1,1,2,9])")
    #expect(
      failure(.conv2d, [image, TensorType(.f32, [8, 4, 3, 3])], ["strides": .ints([0, 1])])
        == "strides must be two values >= 1, found [0, 1]")
    #expect(
      failure(.conv2d, [image, TensorType(.f32, [8, 4, 3, 3])], ["ceil_mode": .bool(true)])
        == "unknown attribute 'ceil_mode' (conv2d takes: strides, pads, dilations, groups)")
  }

  @Test func poolingShapes() throws {
    // ResNet's max pool: 3x3 stride 2 pad 1 on 112 → (112 + 2 - 3) / 2 + 1 = 56.
    #expect(
      try infer(
        .maxPool2d, [TensorType(.f32, [1, 64, 112, 112])],
        ["kernel": .ints([3, 3]), "strides": .ints([2, 2]), "pads": .ints([1, 1, 1, 1])])
        == TensorType(.f32, [1, 64, 56, 56]))
    // 6 wide, kernel 3, stride 2: floor(3 / 2) + 1 = 2 windows, ceil_mode 3 (the third starts at 4 < 6).
    let row = TensorType(.f32, [1, 1, 3, 6])
    let attributes: Attributes = ["kernel": .ints([3, 3]), "strides": .ints([2, 2])]
    #expect(try infer(.avgPool2d, [row], attributes) == TensorType(.f32, [1, 1, 1, 2]))
    var ceil = attributes
    ceil["ceil_mode"] = .bool(true)
    #expect(try infer(.avgPool2d, [row], ceil) == TensorType(.f32, [1, 1, 1, 3]))
    #expect(failure(.maxPool2d, [row]) == "missing attribute 'kernel'")
    #expect(
      failure(.maxPool2d, [TensorType(.i32, [1, 1, 3, 3])], ["kernel": .ints([2, 2])])
        == "expected a float operand (f32, f16, bf16), found i32[1,1,3,3]")
  }

  @Test func padShapesAndErrors() throws {
    let x = TensorType(.f32, [2, 3])
    #expect(try infer(.pad, [x], ["pads": .ints([1, 0, 2, 3])]) == TensorType(.f32, [5, 6]))
    #expect(
      failure(.pad, [x], ["pads": .ints([1, 0])])
        == "pads must be 4 values >= 0 for f32[2,3] (the begins of every axis, then the ends), found [1, 0]")
    #expect(
      failure(.pad, [x], ["pads": .ints([0, 0, 2, 0]), "mode": .symbol("reflect")])
        == "reflect pads of axis 0 must be smaller than its size 2, found [0, 0, 2, 0]")
    #expect(
      failure(.pad, [TensorType(.i32, [2])], ["pads": .ints([1, 1]), "value": .float(0.5)])
        == "pad value 0.5 is not an integer, as i32 needs")
    #expect(
      failure(.pad, [x], ["pads": .ints([0, 0, 0, 0]), "mode": .symbol("wrap")])
        == "attribute 'mode' expects one of constant, reflect, edge, found wrap")
  }
}
