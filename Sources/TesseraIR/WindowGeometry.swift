/// The geometry of a 2-D sliding window (`conv2d`, `max_pool2d`, `avg_pool2d`) over the last two
/// axes of an NCHW tensor: per spatial axis the kernel, stride, dilation, padding and how many
/// windows fit.
///
/// Attributes: `strides = [sh, sw]` and `dilations = [dh, dw]` (default 1), `pads = [top, left,
/// bottom, right]` (ONNX's order, default 0) and, for pooling, `ceil_mode` (default false).
/// Window `o` along an axis covers the input positions `o * stride - padBegin + k * dilation` for
/// the taps `k` in `0..<kernel`; positions outside the input are padding. There are
/// `(input + padBegin + padEnd - dilation * (kernel - 1) - 1) / stride + 1` windows, the division
/// floored, or with `ceil_mode` rounded up and the last window dropped when it would start past
/// the input and the leading padding (as PyTorch and onnxruntime do).
public struct WindowGeometry: Hashable, Sendable {
  /// One spatial axis of the window.
  public struct Axis: Hashable, Sendable {
    /// Length of the input along the axis.
    public var input: Int
    /// Taps of the kernel.
    public var kernel: Int
    /// Distance between the starts of neighbouring windows.
    public var stride: Int
    /// Distance between neighbouring taps.
    public var dilation: Int
    /// Padding before the first input element.
    public var padBegin: Int
    /// Padding after the last input element.
    public var padEnd: Int
    /// Windows along the axis.
    public var output: Int

    /// The input position of tap `tap` of window `window`; outside `0..<input` it is padding.
    public func position(window: Int, tap: Int) -> Int { window * stride - padBegin + tap * dilation }

    /// Positions past the end of the input that the last window reaches: at most `padEnd`, or
    /// more with `ceil_mode`.
    public var reachPastEnd: Int { position(window: output - 1, tap: kernel - 1) + 1 - input }

    /// How many taps of window `window` lie inside the input, or inside the input and its
    /// padding when `includingPadding`.
    public func count(window: Int, includingPadding: Bool) -> Int {
      let range = includingPadding ? -padBegin..<(input + padEnd) : 0..<input
      return (0..<kernel).filter { range.contains(position(window: window, tap: $0)) }.count
    }
  }

  /// The height axis (axis 2 of NCHW).
  public var height: Axis
  /// The width axis (axis 3 of NCHW).
  public var width: Axis

  /// The geometry of a verified op's attributes over an input of `input` (NCHW) with a kernel of
  /// `kernel` (`[kh, kw]`). Traps on invalid attributes, which the verifier rejects first.
  public init(verified attributes: Attributes, input: Shape, kernel: [Int]) {
    do {
      try self.init(input: input, kernel: kernel, attributes: AttributeReader(attributes: attributes))
    } catch {
      preconditionFailure("unverified window attributes: \(error.message)")
    }
  }

  /// Reads and checks the attributes for an input of `input` (NCHW) and a kernel of `kernel`.
  init(input: Shape, kernel: [Int], attributes: AttributeReader) throws(InferenceFailure) {
    let strides = try attributes.ints("strides") ?? [1, 1]
    let dilations = try attributes.ints("dilations") ?? [1, 1]
    let pads = try attributes.ints("pads") ?? [0, 0, 0, 0]
    let ceilMode = try attributes.bool("ceil_mode") ?? false
    guard kernel.count == 2, kernel.allSatisfy({ $0 >= 1 }) else {
      throw InferenceFailure("kernel must be two sizes >= 1, found \(kernel)")
    }
    guard strides.count == 2, strides.allSatisfy({ $0 >= 1 }) else {
      throw InferenceFailure("strides must be two values >= 1, found \(strides)")
    }
    guard dilations.count == 2, dilations.allSatisfy({ $0 >= 1 }) else {
      throw InferenceFailure("dilations must be two values >= 1, found \(dilations)")
    }
    guard pads.count == 4, pads.allSatisfy({ $0 >= 0 }) else {
      throw InferenceFailure("pads must be four values >= 0 ([top, left, bottom, right]), found \(pads)")
    }
    var axes: [Axis] = []
    for (index, name) in ["height", "width"].enumerated() {
      let extent = dilations[index] * (kernel[index] - 1) + 1
      let padded = input.dims[2 + index] + pads[index] + pads[2 + index]
      guard padded >= extent else {
        throw InferenceFailure(
          "the window spans \(extent) along the \(name) but the padded input has \(padded) (\(input))")
      }
      let span = padded - extent
      var output = (ceilMode ? span + strides[index] - 1 : span) / strides[index] + 1
      if ceilMode, (output - 1) * strides[index] >= input.dims[2 + index] + pads[index] { output -= 1 }
      axes.append(
        Axis(
          input: input.dims[2 + index], kernel: kernel[index], stride: strides[index], dilation: dilations[index],
          padBegin: pads[index], padEnd: pads[2 + index], output: output))
    }
    height = axes[0]
    width = axes[1]
  }
}

/// How `pad {mode}` fills the new elements.
public enum PadMode: String, CaseIterable, Sendable {
  /// With `value` (default 0).
  case constant
  /// With the operand mirrored about its edge element, which is not repeated (numpy's `reflect`).
  case reflect
  /// With copies of the edge element.
  case edge

  /// The operand index that output index `index` (along an axis of `size` with `begin` new
  /// elements before it) reads; `nil` where a `constant` pad writes its value.
  public func source(of index: Int, begin: Int, size: Int) -> Int? {
    let inner = index - begin
    if (0..<size).contains(inner) { return inner }
    switch self {
    case .constant: return nil
    case .edge: return Swift.min(Swift.max(inner, 0), size - 1)
    case .reflect: return inner < 0 ? -inner : 2 * (size - 1) - inner
    }
  }
}
