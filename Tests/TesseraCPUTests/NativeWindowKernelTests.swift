import TesseraIR
import TesseraKernels
import TesseraRuntime
import TesseraTestSupport
import Testing

@testable import TesseraCPU

/// The cpu device's own `conv2d` (im2col packed into the SGEMM's panels, with the bias, relu and
/// residual in its epilogue) and pooling kernels, against the reference evaluator on odd shapes,
/// on 1 and 3 threads; other dtypes run the generated window kernels.
@Suite("Native convolution and pooling on cpu")
struct NativeWindowKernelTests {
  /// One convolution: input `[batch, channels, height, width]`, `outputs` filters of
  /// `kernel`, strides, dilations, pads `[top, left, bottom, right]` and groups.
  struct ConvolutionCase: CustomStringConvertible, Sendable {
    var batch: Int, channels: Int, height: Int, width: Int, outputs: Int
    var kernel: (Int, Int), strides: (Int, Int) = (1, 1), dilations: (Int, Int) = (1, 1)
    var pads: [Int] = [0, 0, 0, 0], groups = 1

    /// Output rows and columns, derived by hand: `(input + pads − dilation·(kernel − 1) − 1) / stride + 1`.
    var outputSize: (Int, Int) {
      (
        (height + pads[0] + pads[2] - dilations.0 * (kernel.0 - 1) - 1) / strides.0 + 1,
        (width + pads[1] + pads[3] - dilations.1 * (kernel.1 - 1) - 1) / strides.1 + 1
      )
    }

    /// Whether the cpu runs it with Winograd's F(2x2, 3x3): a 3x3 kernel with unit strides and
    /// dilations, not depthwise, at least 100 outputs per channel.
    var takesWinograd: Bool {
      kernel == (3, 3) && strides == (1, 1) && dilations == (1, 1) && groups < channels
        && outputSize.0 * outputSize.1 >= 100
    }

    /// Whether the cpu runs it with ``FewChannelConvolution``: one group of at most 4 input
    /// channels, not a 1x1 kernel.
    var takesFewChannels: Bool { groups == 1 && channels <= 4 && kernel != (1, 1) }

    var description: String {
      "\(batch)x\(channels)x\(height)x\(width) → \(outputs), \(kernel.0)x\(kernel.1) s\(strides) d\(dilations) p\(pads) g\(groups)"
    }
  }

  static let convolutions: [ConvolutionCase] = [
    ConvolutionCase(batch: 1, channels: 3, height: 9, width: 11, outputs: 5, kernel: (3, 3), pads: [1, 1, 1, 1]),
    ConvolutionCase(
      batch: 2, channels: 6, height: 10, width: 7, outputs: 9, kernel: (3, 3), strides: (2, 2), pads: [0, 1, 2, 1],
      groups: 3),
    ConvolutionCase(
      batch: 1, channels: 5, height: 12, width: 12, outputs: 7, kernel: (3, 3), strides: (1, 2), dilations: (2, 2),
      pads: [2, 0, 1, 2]),
    ConvolutionCase(
      batch: 2, channels: 6, height: 8, width: 9, outputs: 6, kernel: (3, 3), pads: [1, 1, 1, 1], groups: 6),
    ConvolutionCase(
      batch: 1, channels: 3, height: 23, width: 21, outputs: 10, kernel: (7, 7), strides: (2, 2), pads: [3, 3, 3, 3]),
    ConvolutionCase(batch: 2, channels: 12, height: 6, width: 5, outputs: 20, kernel: (1, 1)),
    // Stride 2 on rows of 23 outputs: the im2col packing's eight-lane loads and their tail.
    ConvolutionCase(
      batch: 1, channels: 5, height: 9, width: 45, outputs: 16, kernel: (3, 3), strides: (2, 2), pads: [1, 1, 1, 1]),
    ConvolutionCase(batch: 1, channels: 10, height: 9, width: 9, outputs: 17, kernel: (1, 1), strides: (2, 2)),
    ConvolutionCase(batch: 1, channels: 20, height: 40, width: 37, outputs: 33, kernel: (3, 3), pads: [1, 1, 1, 1]),
    ConvolutionCase(batch: 1, channels: 50, height: 14, width: 14, outputs: 24, kernel: (3, 3), pads: [1, 1, 1, 1]),
    // Winograd F(2x2, 3x3) (`WinogradConvolution`: 3x3, unit strides, at least 100 outputs per
    // channel): two groups with uneven pads (12x17 outputs), no padding and odd output rows and
    // columns (13x11), an odd channel count over several tile rows per thread (27x29).
    ConvolutionCase(
      batch: 2, channels: 6, height: 13, width: 17, outputs: 10, kernel: (3, 3), pads: [0, 2, 1, 0], groups: 2),
    ConvolutionCase(batch: 1, channels: 9, height: 15, width: 13, outputs: 13, kernel: (3, 3)),
    ConvolutionCase(batch: 1, channels: 11, height: 27, width: 29, outputs: 19, kernel: (3, 3), pads: [1, 1, 1, 1]),
    // Depthwise (`DepthwiseConvolution`): MobileNet's 5x5 with stride 2, odd strides, dilations
    // and uneven pads, rows wider than one SIMD8 step, a 1x1 image under a 5x5 window.
    ConvolutionCase(
      batch: 1, channels: 7, height: 13, width: 17, outputs: 7, kernel: (5, 5), strides: (2, 2), pads: [2, 2, 2, 2],
      groups: 7),
    ConvolutionCase(
      batch: 2, channels: 9, height: 11, width: 10, outputs: 9, kernel: (3, 3), strides: (1, 2), dilations: (2, 1),
      pads: [2, 0, 1, 3], groups: 9),
    ConvolutionCase(
      batch: 1, channels: 4, height: 21, width: 29, outputs: 4, kernel: (3, 5), pads: [1, 2, 0, 1], groups: 4),
    ConvolutionCase(
      batch: 1, channels: 3, height: 1, width: 1, outputs: 3, kernel: (5, 5), pads: [2, 2, 2, 2], groups: 3),
    // Depthwise, eight output rows at a time (a last block of 7 and of 2 rows): MobileNetV3's
    // 7x7 planes under a 5x5 window; 16 outputs a row (the last row's whole vector); rows of
    // 300 outputs (padded rows too wide for a constant row step) over 5 rows; stride 3 on an
    // input row of 32 (two whole vectors copied in, no tail) and 10 output rows.
    ConvolutionCase(
      batch: 2, channels: 5, height: 7, width: 7, outputs: 5, kernel: (5, 5), pads: [2, 2, 2, 2], groups: 5),
    ConvolutionCase(batch: 1, channels: 3, height: 18, width: 18, outputs: 3, kernel: (3, 3), groups: 3),
    ConvolutionCase(
      batch: 1, channels: 2, height: 5, width: 300, outputs: 2, kernel: (3, 5), pads: [1, 2, 1, 2], groups: 2),
    ConvolutionCase(
      batch: 1, channels: 4, height: 30, width: 32, outputs: 4, kernel: (3, 3), strides: (3, 3), pads: [1, 1, 1, 1],
      groups: 4),
    // Depthwise at stride 2, whose padded rows are split into even and odd columns: an odd pad
    // (even input columns to the odd phase) over a row of 57 (thirty-two, sixteen, four pairs
    // and a single float), an even pad with a column dilation of 2 (every tap in one phase).
    ConvolutionCase(
      batch: 1, channels: 3, height: 9, width: 57, outputs: 3, kernel: (5, 5), strides: (2, 2), pads: [1, 1, 1, 1],
      groups: 3),
    ConvolutionCase(
      batch: 1, channels: 2, height: 10, width: 50, outputs: 2, kernel: (3, 3), strides: (2, 2), dilations: (1, 2),
      pads: [1, 2, 1, 2], groups: 2),
    // Depthwise 3×3 with one row and column of padding before (`InPlaceDepthwise`): rows of 300
    // outputs at stride 1, a row of 57 at stride 2 (29 outputs, a last vector of 13).
    ConvolutionCase(
      batch: 1, channels: 2, height: 5, width: 300, outputs: 2, kernel: (3, 3), pads: [1, 1, 1, 1], groups: 2),
    ConvolutionCase(
      batch: 1, channels: 3, height: 9, width: 57, outputs: 3, kernel: (3, 3), strides: (2, 2), pads: [1, 1, 1, 1],
      groups: 3),
    // Depthwise in eight-lane vectors (output rows of at most 8): a 5x5 window with stride 2
    // (8x7 outputs), strides (1, 2) with a dilation and uneven pads (6 outputs a row), rows of
    // exactly 8 (the plane's last row stored whole), one output column over 20 channels.
    ConvolutionCase(
      batch: 1, channels: 6, height: 15, width: 13, outputs: 6, kernel: (5, 5), strides: (2, 2), pads: [2, 2, 2, 2],
      groups: 6),
    ConvolutionCase(
      batch: 2, channels: 5, height: 9, width: 11, outputs: 5, kernel: (3, 3), strides: (1, 2), dilations: (2, 1),
      pads: [2, 0, 1, 3], groups: 5),
    ConvolutionCase(
      batch: 1, channels: 3, height: 8, width: 8, outputs: 3, kernel: (3, 3), pads: [1, 1, 1, 1], groups: 3),
    ConvolutionCase(
      batch: 1, channels: 20, height: 13, width: 3, outputs: 20, kernel: (3, 3), strides: (2, 2), groups: 20),
    // A few input channels (`FewChannelConvolution`): a stem's 3x3 stride 2 on odd sizes, two
    // images, 17 outputs (a whole block of sixteen and one more); rows of 35 outputs (two
    // thirty-two-float splits of the stride-2 input row, then its tail); a 5x5 window over one
    // channel's 7x7 plane; uneven pads; stride 3 with a dilation (split float by float); a 1x1
    // image.
    ConvolutionCase(
      batch: 2, channels: 3, height: 13, width: 11, outputs: 17, kernel: (3, 3), strides: (2, 2), pads: [1, 1, 1, 1]),
    ConvolutionCase(
      batch: 1, channels: 3, height: 5, width: 70, outputs: 5, kernel: (3, 3), strides: (2, 2), pads: [1, 1, 1, 1]),
    ConvolutionCase(batch: 1, channels: 1, height: 7, width: 7, outputs: 5, kernel: (5, 5), pads: [2, 2, 2, 2]),
    ConvolutionCase(batch: 1, channels: 4, height: 3, width: 5, outputs: 16, kernel: (3, 3), pads: [0, 1, 2, 1]),
    ConvolutionCase(
      batch: 1, channels: 2, height: 13, width: 40, outputs: 6, kernel: (3, 3), strides: (2, 3), dilations: (1, 2),
      pads: [1, 0, 2, 2]),
    ConvolutionCase(batch: 1, channels: 3, height: 1, width: 1, outputs: 4, kernel: (3, 3), pads: [1, 1, 1, 1]),
    // One input column under stride 2 and a pad of 1: the column lands in the odd phase.
    ConvolutionCase(
      batch: 1, channels: 2, height: 5, width: 1, outputs: 3, kernel: (3, 3), strides: (2, 2), pads: [1, 1, 1, 1]),
    // One position a channel (squeeze-and-excitation's 1x1 convolutions): matrix–vector
    // products, in three groups; and one large enough to split across threads.
    ConvolutionCase(batch: 2, channels: 12, height: 1, width: 1, outputs: 9, kernel: (1, 1), groups: 3),
    ConvolutionCase(batch: 2, channels: 200, height: 1, width: 1, outputs: 190, kernel: (1, 1)),
  ]

  /// What follows the convolution: nothing, a bias per channel and a relu, or a bias, a residual
  /// and a relu (a ResNet block's end).
  enum Tail: CaseIterable, Sendable {
    case none, biasRelu, biasResidualRelu
  }

  /// `.tir` text of `conv` followed by `tail`, in `dtype`.
  static func text(_ conv: ConvolutionCase, tail: Tail, dtype: String = "f32") -> String {
    let (rows, columns) = conv.outputSize
    let result = "\(dtype)[\(conv.batch),\(conv.outputs),\(rows),\(columns)]"
    var arguments = [
      "%x: \(dtype)[\(conv.batch),\(conv.channels),\(conv.height),\(conv.width)]",
      "%w: \(dtype)[\(conv.outputs),\(conv.channels / conv.groups),\(conv.kernel.0),\(conv.kernel.1)]",
    ]
    let attributes =
      "{dilations = [\(conv.dilations.0), \(conv.dilations.1)], groups = \(conv.groups), "
      + "pads = [\(conv.pads.map(String.init).joined(separator: ", "))], strides = [\(conv.strides.0), \(conv.strides.1)]}"
    var body = ["%c = conv2d %x, %w \(attributes) : \(result)"]
    var last = "%c"
    if tail != .none {
      arguments.append("%b: \(dtype)[\(conv.outputs),1,1]")
      body.append("%y = add %c, %b : \(result)")
      last = "%y"
    }
    if tail == .biasResidualRelu {
      arguments.append("%r: \(result)")
      body.append("%s = add %y, %r : \(result)")
      last = "%s"
    }
    if tail != .none {
      body.append("%z = relu \(last) : \(result)")
      last = "%z"
    }
    return "func @f(\(arguments.joined(separator: ", "))) -> \(result) {\n  "
      + (body + ["return \(last)"]).joined(separator: "\n  ") + "\n}"
  }

  /// `text` on cpu and on the reference evaluator (``CPUVersusReference``), inputs from seed 29.
  static func compare(_ text: String, threads: Int, atol: Double, rtol: Double) throws -> (
    routes: [CPUPlanBackend.Action], ratio: Double
  ) {
    try CPUVersusReference.compare(text, threads: threads, seed: 29, atol: atol, rtol: rtol)
  }

  @Test(
    "conv2d runs natively with its epilogue and matches the reference",
    arguments: convolutions.indices, [1, 3])
  func convolution(index: Int, threads: Int) throws {
    for tail in Tail.allCases {
      let conv = Self.convolutions[index]
      let (routes, ratio) = try Self.compare(Self.text(conv, tail: tail), threads: threads, atol: 1e-4, rtol: 1e-5)
      #expect(ratio <= 1, "\(conv) \(tail)")
      #expect(routes.count == 1, "one step: the convolution with its epilogue (\(conv) \(tail))")
      guard case .convolution(let native) = routes.first else {
        Issue.record("not a native convolution: \(conv) \(tail)")
        continue
      }
      #expect(WinogradConvolution.applies(to: native.shape) == conv.takesWinograd, "\(conv)")
      #expect(FewChannelConvolution.applies(to: native.shape) == conv.takesFewChannels, "\(conv)")
      #expect((native.epilogue.rowBias != nil) == (tail != .none))
      #expect(native.epilogue.activation == (tail == .none ? .identity : .relu))
      #expect((native.epilogue.residual != nil) == (tail == .biasResidualRelu))
    }
  }

  /// A Winograd convolution whose weights are a constant (as imported ONNX models have them),
  /// with a bias and relu: its kernels' transform is kept after the first run, so the second
  /// run, with other inputs, reads the kept one.
  @Test("a Winograd convolution of constant weights matches the reference on every run", arguments: [1, 3])
  func winogradConstantWeights(threads: Int) throws {
    // Halves from −2 to 2.
    var values: [Double] = []
    for index in 0..<(5 * 4 * 9) {
      let step = (index * 7) % 9
      values.append(Double(step) / 2 - 2)
    }
    let weights = values.map { "\($0)" }.joined(separator: ", ")
    let graph = try TestSupport.parseOne(
      """
      func @f(%x: f32[1,4,12,11], %b: f32[5,1,1]) -> f32[1,5,12,11] {
        %w = constant [\(weights)] : f32[5,4,3,3]
        %c = conv2d %x, %w {dilations = [1, 1], groups = 1, pads = [1, 1, 1, 1], strides = [1, 1]} : f32[1,5,12,11]
        %y = add %c, %b : f32[1,5,12,11]
        %z = relu %y : f32[1,5,12,11]
        return %z
      }
      """)
    let device = CPUDevice(library: StandardKernelLibrary(), pool: CPUThreadPool(threads: threads))
    let compiled = try device.compile(graph)
    guard case .convolution(let native) = try device.routes(for: graph).first else {
      Issue.record("not a native convolution")
      return
    }
    #expect(native.winogradKernels != nil)
    var generator = SeededRandom(seed: 31)
    for _ in 0..<2 {
      let inputs = graph.argumentTypes.map { Tensor.random($0, integerBound: 5, using: &generator) }
      let expected = try TestSupport.evaluate(graph, inputs)[0]
      let actual = try compiled.run(inputs: inputs)[0]
      #expect(TestSupport.toleranceRatio(actual, expected, atol: 1e-4, rtol: 1e-5) <= 1)
    }
  }

  /// A depthwise 5x5 convolution with its bias, then HardSigmoid as the ONNX importer writes it
  /// (`max(min(x · 1/6 + 1/2, 1), 0)`), times `x` for HardSwish.
  static func hardActivationText(swish: Bool) -> String {
    let type = "f32[1,6,9,11]"
    return """
      func @f(%x: \(type), %w: f32[6,1,5,5], %b: f32[6,1,1]) -> \(type) {
        %c = conv2d %x, %w {dilations = [1, 1], groups = 6, pads = [2, 2, 2, 2], strides = [1, 1]} : \(type)
        %y = add %c, %b : \(type)
        %sixth = constant 0.16666667 : f32[]
        %half = constant 0.5 : f32[]
        %one = constant 1.0 : f32[]
        %zero = constant 0.0 : f32[]
        %s = mul %y, %sixth : \(type)
        %t = add %s, %half : \(type)
        %u = min %t, %one : \(type)
        %v = max %u, %zero : \(type)
      """ + (swish ? "\n  %h = mul %y, %v : \(type)\n  return %h\n}" : "\n  return %v\n}")
  }

  @Test("HardSwish and HardSigmoid after a convolution run in its epilogue", arguments: [true, false], [1, 3])
  func hardActivation(swish: Bool, threads: Int) throws {
    let (routes, ratio) = try Self.compare(
      Self.hardActivationText(swish: swish), threads: threads, atol: 1e-5, rtol: 1e-5)
    #expect(ratio <= 1)
    #expect(routes.count == 1, "one step: the convolution with its epilogue")
    guard case .convolution(let native) = routes.first else {
      Issue.record("not a native convolution")
      return
    }
    #expect(native.epilogue.activation == (swish ? .hardSwish : .hardSigmoid))
    #expect(native.epilogue.rowBias != nil)
  }

  /// Pooling cases: `.tir` text (output shapes derived by hand).
  static let pools: [String] = [
    // ResNet's pool: (13 + 2 − 3) / 2 + 1 = 7, (12 + 2 − 3) / 2 + 1 = 6.
    pool(
      "max_pool2d", input: [1, 5, 13, 12], output: [1, 5, 7, 6],
      "kernel = [3, 3], pads = [1, 1, 1, 1], strides = [2, 2]"),
    // ceil((7 − 2) / 2) + 1 = 4, ceil((9 − 2) / 2) + 1 = 5.
    pool(
      "max_pool2d", input: [2, 3, 7, 9], output: [2, 3, 4, 5], "ceil_mode = true, kernel = [2, 2], strides = [2, 2]"),
    // (10 + 2 − 4 − 1) + 1 = 8, (11 + 2 − 4 − 1) + 1 = 9.
    pool(
      "max_pool2d", input: [1, 4, 10, 11], output: [1, 4, 8, 9],
      "dilations = [2, 2], kernel = [3, 3], pads = [2, 1, 0, 1]"),
    // (9 + 2 − 3) / 2 + 1 = 5, (8 + 2 − 3) / 2 + 1 = 4.
    pool(
      "avg_pool2d", input: [2, 3, 9, 8], output: [2, 3, 5, 4],
      "kernel = [3, 3], pads = [1, 1, 1, 1], strides = [2, 2]"),
    // 7 + 2 − 3 + 1 = 7, 7 + 2 − 3 + 1 = 7.
    pool(
      "avg_pool2d", input: [1, 10, 7, 7], output: [1, 10, 7, 7],
      "count_include_pad = true, kernel = [3, 3], pads = [1, 0, 1, 2]"),
    // ceil((7 − 2) / 2) + 1 = 4 both ways.
    pool(
      "avg_pool2d", input: [1, 3, 7, 7], output: [1, 3, 4, 4],
      "ceil_mode = true, count_include_pad = true, kernel = [2, 2], strides = [2, 2]"),
    // Rows of several vectors: 37 outputs a row (four whole vectors and five lanes).
    pool("max_pool2d", input: [1, 2, 9, 37], output: [1, 2, 9, 37], "kernel = [3, 3], pads = [1, 1, 1, 1]"),
    // Stride 3 gathers its lanes: (29 − 3) / 3 + 1 = 9, (8 − 3) / 3 + 1 = 2.
    pool("max_pool2d", input: [1, 2, 8, 29], output: [1, 2, 2, 9], "kernel = [3, 3], strides = [3, 3]"),
    // (21 + 2 − 3) / 2 + 1 = 11 both ways, two vectors a row.
    pool(
      "avg_pool2d", input: [1, 3, 21, 21], output: [1, 3, 11, 11],
      "kernel = [3, 3], pads = [1, 1, 1, 1], strides = [2, 2]"),
  ]

  static func pool(_ op: String, input: [Int], output: [Int], _ attributes: String, dtype: String = "f32") -> String {
    let (x, y) = ("\(dtype)\(input)", "\(dtype)\(output)")
    return "func @f(%x: \(x)) -> \(y) {\n  %y = \(op) %x {\(attributes)} : \(y)\n  return %y\n}"
  }

  @Test("pooling runs natively and matches the reference", arguments: pools.indices, [1, 3])
  func pooling(index: Int, threads: Int) throws {
    let (routes, ratio) = try Self.compare(Self.pools[index], threads: threads, atol: 1e-5, rtol: 1e-5)
    #expect(ratio <= 1)
    #expect(routes.count == 1)
    guard case .pooling = routes.first else {
      Issue.record("not native pooling: \(Self.pools[index])")
      return
    }
  }

  /// A maximum over a window holding NaN is NaN, as the reference's is; the −∞ padding and the
  /// other windows are unaffected. (6 + 2 − 3) / 2 + 1 = 3, (19 + 2 − 3) / 2 + 1 = 10.
  @Test("a max pool takes NaN where a window holds one", arguments: [1, 3])
  func maxPoolKeepsNaN(threads: Int) throws {
    let text = Self.pool(
      "max_pool2d", input: [1, 2, 6, 19], output: [1, 2, 3, 10],
      "kernel = [3, 3], pads = [1, 1, 1, 1], strides = [2, 2]")
    var values = (0..<228).map { Double($0 % 7) - 3 }
    (values[40], values[150]) = (.nan, .nan)
    let input = Tensor(values, shape: Shape([1, 2, 6, 19]))
    let graph = try TestSupport.parseOne(text)
    let device = CPUDevice(library: StandardKernelLibrary(), pool: CPUThreadPool(threads: threads))
    let expected = try TestSupport.evaluate(graph, [input])[0].floats
    let actual = try device.compile(graph).run(inputs: [input])[0].floats
    #expect(expected.count { $0.isNaN } >= 2)
    #expect(actual.map(\.isNaN) == expected.map(\.isNaN))
    #expect(zip(actual, expected).allSatisfy { $0.isNaN || $0 == $1 })
  }

  /// f16 convolutions and pools are not native: they run the generated window kernels, which
  /// also match the reference.
  @Test("f16 windows run the generated kernels", arguments: [0, 1, 3, 4])
  func generatedKernels(index: Int) throws {
    let text = Self.text(Self.convolutions[index], tail: .biasResidualRelu, dtype: "f16")
    let (routes, ratio) = try Self.compare(text, threads: 3, atol: 5e-2, rtol: 5e-3)
    #expect(ratio <= 1)
    #expect(routes.allSatisfy { if case .vector = $0 { true } else { false } })
    let pool = Self.pools[index].replacingOccurrences(of: "f32", with: "f16")
    let (poolRoutes, poolRatio) = try Self.compare(pool, threads: 3, atol: 5e-2, rtol: 5e-3)
    #expect(poolRatio <= 1)
    #expect(poolRoutes.allSatisfy { if case .vector = $0 { true } else { false } })
  }
}
