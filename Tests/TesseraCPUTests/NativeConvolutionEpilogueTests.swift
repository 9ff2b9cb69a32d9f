import TesseraIR
import TesseraKernels
import TesseraRuntime
import TesseraTestSupport
import Testing

@testable import TesseraCPU

/// A convolution's bias `add`, relu and residual `add` run in the packed SGEMM's epilogue on the
/// cpu device (a bias per row of the `[O, OH·OW]` product, the residual before the relu), with
/// the reference evaluator's values for the original `conv2d`.
@Suite("Convolution bias, relu and residual in the cpu matmul epilogue")
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

  @Test("bias and relu (and the residual) fuse into the native matmul", arguments: shapes.indices, threadCounts)
  func fusesIntoTheMatmul(shape: Int, threads: Int) throws {
    let (channels, outputs, size, stride, residual) = Self.shapes[shape]
    let text = Self.convolution(channels: channels, outputs: outputs, size: size, stride: stride, residual: residual)
    let graph = try TestSupport.parseOne(text)
    let device = CPUDevice(library: StandardKernelLibrary(), pool: CPUThreadPool(threads: threads))
    let routes = try device.routes(for: graph)
    let matmuls = routes.compactMap { if case .native(let matmul) = $0 { matmul } else { nil } }
    #expect(matmuls.count == 1)
    #expect(matmuls.first?.epilogue.rowBias != nil, "bias along the product's rows")
    #expect(matmuls.first?.epilogue.activation == .relu)
    #expect((matmuls.first?.epilogue.residual != nil) == residual)
    #expect(!routes.contains { if case .vector = $0 { true } else { false } }, "no generated kernel")
    var generator = SeededRandom(seed: 17)
    let inputs = graph.argumentTypes.map { Tensor.random($0, integerBound: 5, using: &generator) }
    let expected = try TestSupport.evaluate(graph, inputs)[0]
    let actual = try device.compile(graph).run(inputs: inputs)[0]
    #expect(TestSupport.toleranceRatio(actual, expected, atol: 1e-4, rtol: 1e-5) <= 1)
  }
}
