import TesseraIR
import TesseraKernels
import TesseraRuntime
import TesseraTestSupport
import Testing

@testable import TesseraCPU

/// Convolutions whose weights are constants, as imported ONNX models have them: the SGEMM ones
/// keep their weights packed as A (``GEMMPackedA``) from the first run on, and every run matches
/// the reference evaluator.
@Suite("Native convolutions of constant weights on cpu")
struct NativeConvolutionConstantWeightTests {
  /// Input `[1, channels, height, width]`, `outputs` filters of `kernel × kernel`, `stride`,
  /// `pad` on every side; output sizes derived by hand in ``outputSize``.
  struct Case: CustomStringConvertible, Sendable {
    var channels: Int, height: Int, width: Int, outputs: Int, kernel: Int, stride = 1, pad = 0

    /// `(input + 2·pad − kernel) / stride + 1` per axis.
    var outputSize: (Int, Int) {
      ((height + 2 * pad - kernel) / stride + 1, (width + 2 * pad - kernel) / stride + 1)
    }

    var description: String { "\(channels)x\(height)x\(width) → \(outputs), \(kernel)x\(kernel) s\(stride) p\(pad)" }
  }

  /// A 1x1 one on 7×7 outputs with 400 channels (past one depth block of the host's SGEMM), 25
  /// outputs (two whole twelve-row panels and one row); a strided 3x3 one (im2col) of 450 taps;
  /// a 3x3 one on 9×9 outputs (fewer than Winograd's 100) with 14 outputs.
  static let cases: [Case] = [
    Case(channels: 400, height: 7, width: 7, outputs: 25, kernel: 1),
    Case(channels: 50, height: 11, width: 10, outputs: 13, kernel: 3, stride: 2, pad: 1),
    Case(channels: 6, height: 9, width: 9, outputs: 14, kernel: 3, pad: 1),
  ]

  /// The case's graph: `relu(conv2d(x, W) + b)` with `W` a constant of small integers.
  static func text(_ conv: Case) -> String {
    let count = conv.outputs * conv.channels * conv.kernel * conv.kernel
    let weights = (0..<count).map { "\(Double(($0 * 7) % 9) / 2 - 2)" }.joined(separator: ", ")
    let (rows, columns) = conv.outputSize
    let result = "f32[1,\(conv.outputs),\(rows),\(columns)]"
    return """
      func @f(%x: f32[1,\(conv.channels),\(conv.height),\(conv.width)], %b: f32[\(conv.outputs),1,1]) -> \(result) {
        %w = constant [\(weights)] : f32[\(conv.outputs),\(conv.channels),\(conv.kernel),\(conv.kernel)]
        %c = conv2d %x, %w {dilations = [1, 1], groups = 1, pads = [\(conv.pad), \(conv.pad), \(conv.pad), \(conv.pad)], strides = [\(conv.stride), \(conv.stride)]} : \(result)
        %y = add %c, %b : \(result)
        %z = relu %y : \(result)
        return %z
      }
      """
  }

  @Test("the weights are packed once and every run matches the reference", arguments: cases.indices, [1, 3])
  func packedOnce(index: Int, threads: Int) throws {
    let conv = Self.cases[index]
    let graph = try TestSupport.parseOne(Self.text(conv))
    let device = CPUDevice(library: StandardKernelLibrary(), pool: CPUThreadPool(threads: threads))
    guard case .convolution(let native) = try device.routes(for: graph).first else {
      Issue.record("not a native convolution: \(conv)")
      return
    }
    #expect(native.packedWeights != nil, "\(conv)")
    let compiled = try device.compile(graph)
    var generator = SeededRandom(seed: 37)
    for _ in 0..<2 {
      let inputs = graph.argumentTypes.map { Tensor.random($0, integerBound: 5, using: &generator) }
      let expected = try TestSupport.evaluate(graph, inputs)[0]
      let actual = try compiled.run(inputs: inputs)[0]
      #expect(TestSupport.toleranceRatio(actual, expected, atol: 1e-4, rtol: 1e-5) <= 1, "\(conv)")
    }
  }

  /// Weights of any size are packed once (512-channel 3x3 layers: 9.4 MB); depthwise, Winograd,
  /// few-channel direct and seven-wide output rows' convolutions (``OutputRowConvolution``:
  /// ResNet's 7×7 layers) do not take the SGEMM's A, nor do products of one group's one position
  /// (matrix–vector).
  @Test("which convolutions keep their weights packed as A")
  func packedRoutes() {
    func sizes(channels: Int, outputs: Int, groups: Int, side: Int, pads: Int) -> Convolution.Sizes {
      let geometry = WindowGeometry(
        verified: ["pads": .ints([pads, pads, pads, pads]), "strides": .ints([1, 1]), "dilations": .ints([1, 1])],
        input: Shape([1, channels, side, side]), kernel: [3, 3])
      return Convolution.Sizes(batch: 1, channels: channels, outputs: outputs, groups: groups, geometry: geometry)
    }
    #expect(NativeConvolution.packsWeights(sizes(channels: 512, outputs: 512, groups: 1, side: 6, pads: 1)))
    // Seven-wide output rows take ``OutputRowConvolution`` where vectors are 512 bits wide.
    let sevenWide = sizes(channels: 512, outputs: 512, groups: 1, side: 7, pads: 1)
    #expect(NativeConvolution.packsWeights(sevenWide) == (SGEMM.Microkernel.preferred != .tile12x32))
    #expect(!NativeConvolution.packsWeights(sizes(channels: 16, outputs: 16, groups: 16, side: 7, pads: 1)))
    #expect(!NativeConvolution.packsWeights(sizes(channels: 8, outputs: 8, groups: 1, side: 12, pads: 1)))
    #expect(!NativeConvolution.packsWeights(sizes(channels: 8, outputs: 8, groups: 1, side: 3, pads: 0)))
    #expect(!NativeConvolution.packsWeights(sizes(channels: 3, outputs: 16, groups: 1, side: 9, pads: 1)))
  }
}
