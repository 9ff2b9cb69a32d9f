import TesseraIR
import TesseraKernels
import TesseraRuntime
import TesseraTestSupport
import Testing

@testable import TesseraCPU

/// A convolution's bias `add`, relu and residual `add` run in the packed SGEMM's epilogue of the
/// cpu device's native convolution (a bias per row of the `[O, OH·OW]` product, the residual
/// before the relu), with the reference evaluator's values for the original `conv2d`.
@Suite("Convolution bias, relu and residual in the cpu convolution's epilogue")
struct NativeConvolutionEpilogueTests {
  /// `relu(conv2d(x, w) + b (+ r))` with 3x3 filters, pads 1 and `stride`.
  static func convolution(channels: Int, outputs: Int, size: Int, stride: Int, residual: Bool) -> String {
    let out = (size + 2 - 3) / stride + 1
    let result = "f32[1,\(outputs),\(out),\(out)]"
    let arguments =
      "%x: f32[1,\(channels),\(size),\(size)], %w: f32[\(outputs),\(channels),3,3], %b: f32[\(outputs),1,1]"
    let body =
      [
        "%c = conv2d %x, %w {strides = [\(stride), \(stride)], pads = [1, 1, 1, 1]} : \(result)",
        "%y = add %c, %b : \(result)",
      ] + (residual ? ["%s = add %y, %r : \(result)"] : []) + [
        "%z = relu \(residual ? "%s" : "%y") : \(result)", "return %z",
      ]
    return "func @f(\(arguments)\(residual ? ", %r: \(result)" : "")) -> \(result) {\n  "
      + body.joined(separator: "\n  ") + "\n}"
  }

  static let shapes: [(channels: Int, outputs: Int, size: Int, stride: Int, residual: Bool)] = [
    (3, 8, 9, 1, false), (5, 20, 12, 2, true), (16, 33, 15, 1, true), (8, 70, 20, 2, false),
  ]

  /// Runs `text` on the cpu device on `threads` threads: every convolution is native, the last one
  /// with a row bias and an epilogue ending in a relu with or without a residual (and its row
  /// bias), nothing runs as a generated kernel, and the values are the reference evaluator's.
  static func check(_ text: String, threads: Int, convolutions count: Int, residual: Bool, residualBias: Bool) throws {
    let graph = try TestSupport.parseOne(text)
    let device = CPUDevice(library: StandardKernelLibrary(), pool: CPUThreadPool(threads: threads))
    let routes = try device.routes(for: graph)
    let convolutions = routes.compactMap { if case .convolution(let convolution) = $0 { convolution } else { nil } }
    #expect(convolutions.count == count)
    #expect(convolutions.count == routes.count, "nothing but convolutions")
    #expect(convolutions.last?.epilogue.rowBias != nil, "bias along the product's rows")
    #expect(convolutions.last?.epilogue.activation == .relu)
    #expect((convolutions.last?.epilogue.residual != nil) == residual)
    #expect((convolutions.last?.epilogue.residualRowBias != nil) == residualBias)
    #expect(!routes.contains { if case .vector = $0 { true } else { false } }, "no generated kernel")
    var generator = SeededRandom(seed: 17)
    let inputs = graph.argumentTypes.map { Tensor.random($0, integerBound: 5, using: &generator) }
    let expected = try TestSupport.evaluate(graph, inputs)[0]
    let actual = try device.compile(graph).run(inputs: inputs)[0]
    #expect(TestSupport.toleranceRatio(actual, expected, atol: 1e-4, rtol: 1e-5) <= 1)
  }

  @Test("bias and relu (and the residual) fuse into the native convolution", arguments: shapes.indices, threadCounts)
  func fusesIntoTheMatmul(shape: Int, threads: Int) throws {
    let (channels, outputs, size, stride, residual) = Self.shapes[shape]
    let text = Self.convolution(channels: channels, outputs: outputs, size: size, stride: stride, residual: residual)
    try Self.check(text, threads: threads, convolutions: 1, residual: residual, residualBias: false)
  }

  /// A ResNet downsampling block's end: `relu(conv(x) + b + (conv1x1(x) + d))`.
  static let downsample = """
    func @f(%x: f32[1,4,10,10], %w: f32[6,4,3,3], %b: f32[6,1,1], %v: f32[6,4,1,1], %d: f32[6,1,1]) -> f32[1,6,5,5] {
      %c = conv2d %x, %w {strides = [2, 2], pads = [1, 1, 1, 1]} : f32[1,6,5,5]
      %y = add %c, %b : f32[1,6,5,5]
      %s = conv2d %x, %v {strides = [2, 2]} : f32[1,6,5,5]
      %t = add %s, %d : f32[1,6,5,5]
      %r = add %y, %t : f32[1,6,5,5]
      %z = relu %r : f32[1,6,5,5]
      return %z
    }
    """

  @Test("a downsampling residual's bias joins the residual", arguments: threadCounts)
  func downsamplingResidual(threads: Int) throws {
    try Self.check(Self.downsample, threads: threads, convolutions: 2, residual: true, residualBias: true)
  }
}
