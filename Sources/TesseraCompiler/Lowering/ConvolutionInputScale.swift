import TesseraIR

/// A pointwise `conv2d` whose input is `mul(x, s)` with `s` one value per channel (of each image
/// or of all): a squeeze-and-excitation gate scaling the block's features before its 1x1
/// projection. On a target that ``TargetCapabilities/scalesConvolutionInputs``, fusion puts the
/// `mul` into the convolution's kernel, which scales each input channel as it reads it, so the
/// scaled copy is never written (the `cpu` device scales the rows of its SGEMM's B as it packs
/// them).
public struct ConvolutionInputScale: Hashable, Sendable {
  /// The unscaled input `x`, `[N, C, H, W]`.
  public var input: ValueID
  /// The scale `s`, `[N, C, 1, 1]` or `[1, C, 1, 1]`.
  public var scale: ValueID

  /// The scaling of `convolution`'s input that `mul` computes, or nil where `mul` does not
  /// compute its input as one f32 `[N, C, H, W]` value times one of a value per channel.
  public init?(_ mul: Node, of convolution: Node, in graph: Graph) {
    guard mul.kind == .mul, convolution.kind == .conv2d, convolution.operands[0] == mul.result,
      mul.operands.count == 2, mul.operands[0] != mul.result
    else { return nil }
    let type = graph.type(of: mul.result)
    let dims = type.shape.dims
    guard type.dtype == .f32, dims.count == 4 else { return nil }
    let isInput = { (value: ValueID) in graph.type(of: value) == type }
    let isScale = { (value: ValueID) in
      let scale = graph.type(of: value)
      return scale.dtype == .f32 && scale.shape.rank == 4 && [1, dims[0]].contains(scale.shape.dims[0])
        && Array(scale.shape.dims[1...]) == [dims[1], 1, 1]
    }
    let (first, second) = (mul.operands[0], mul.operands[1])
    if isInput(first) && isScale(second) {
      (input, scale) = (first, second)
    } else if isInput(second) && isScale(first) {
      (input, scale) = (second, first)
    } else {
      return nil
    }
  }

  /// Whether `convolution` is one whose input a target may scale as it reads it: a 1x1 kernel
  /// at unit strides without padding, one group, more than one output position.
  public static func takes(_ convolution: Node, in graph: Graph) -> Bool {
    guard convolution.kind == .conv2d, (convolution.attributes.int("groups") ?? 1) == 1 else { return false }
    let input = graph.type(of: convolution.operands[0]).shape
    let kernel = graph.type(of: convolution.operands[1]).shape.dims
    guard input.rank == 4, kernel.count == 4, kernel[2] == 1, kernel[3] == 1 else { return false }
    let geometry = WindowGeometry(verified: convolution.attributes, input: input, kernel: [1, 1])
    let axes = [geometry.height, geometry.width]
    return axes.allSatisfy { $0.stride == 1 && $0.padBegin == 0 && $0.padEnd == 0 }
      && geometry.height.output * geometry.width.output > 1
  }
}
