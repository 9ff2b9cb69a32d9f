import TesseraIR
import TesseraKernels
import TesseraRuntime
import TesseraTestSupport
import Testing

@testable import TesseraCPU

/// ``OutputRowConvolution`` (seven-wide output rows as the rows of a transposed product) against
/// a plain `Double` loop on 1 and 3 threads, and through the cpu device with constant weights
/// against the reference evaluator. Inputs are small integers and weights halves, so the sums are
/// exact in f32.
@Suite("Convolutions of seven-wide output rows")
struct OutputRowConvolutionTests {
  /// Input `[batch, channels, height, width]`, `outputs` filters of `kernel`, `strides`, pads
  /// `[top, left, bottom, right]`.
  struct Case: CustomStringConvertible, Sendable {
    var batch = 1
    var channels: Int, outputs: Int, height: Int, width: Int
    var kernel: [Int], strides: [Int], pads: [Int]

    var sizes: Convolution.Sizes {
      let geometry = WindowGeometry(
        verified: ["pads": .ints(pads), "strides": .ints(strides), "dilations": .ints([1, 1])],
        input: Shape([batch, channels, height, width]), kernel: kernel)
      return Convolution.Sizes(batch: batch, channels: channels, outputs: outputs, groups: 1, geometry: geometry)
    }

    var description: String {
      "\(batch)x\(channels)x\(height)x\(width) → \(outputs), \(kernel) s\(strides) p\(pads)"
    }
  }

  static let cases: [Case] = [
    // 7×7 outputs, depth 360 (two blocks of the depth), 45 outputs (a panel of 32 and 13).
    Case(channels: 40, outputs: 45, height: 7, width: 7, kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1]),
    // Stride 2 (ResNet's 256→512 layer): 5×7 outputs from 9×14, uneven pads; two images.
    Case(
      batch: 2, channels: 5, outputs: 9, height: 9, width: 14, kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 0]),
    // A 2x3 kernel, no padding: 4×7 outputs; 64 outputs (two whole panels).
    Case(channels: 3, outputs: 64, height: 5, width: 9, kernel: [2, 3], strides: [1, 1], pads: [0, 0, 0, 0]),
    // A 1x1 kernel on 7×7 (MobileNetV3's): A packed straight from the image (the last image's
    // last row read seven floats, not eight); 45 outputs (two blocks of sixteen through the
    // transpose and thirteen one by one), 49 positions (three blocks of sixteen and one); two
    // images.
    Case(
      batch: 2, channels: 20, outputs: 45, height: 7, width: 7, kernel: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0]),
    // A 1x1 kernel on 3×7 (21 positions: one block of sixteen and five) and 70 outputs.
    Case(channels: 33, outputs: 70, height: 3, width: 7, kernel: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0]),
  ]

  @Test("matches a plain loop with a bias and relu", arguments: cases.indices, [1, 3])
  func matchesLoop(index: Int, threads: Int) {
    check(Self.cases[index], threads: threads, scaled: false)
  }

  /// A squeeze-and-excitation gate's scales, one per channel of each image, multiplied in as A
  /// is packed (``Convolution/ChannelScales``).
  @Test(
    "a 1x1 kernel's input scaled per channel as A is packed",
    arguments: cases.indices.filter { cases[$0].kernel == [1, 1] }, [1, 3])
  func scaledInput(index: Int, threads: Int) {
    check(Self.cases[index], threads: threads, scaled: true)
  }

  /// `conv` on `threads` threads with a bias and relu, its input scaled by image and channel
  /// when `scaled`, against ``loop(_:input:weights:bias:)`` over the scaled input.
  private func check(_ conv: Case, threads: Int, scaled: Bool) {
    let shape = conv.sizes
    #expect(OutputRowConvolution.applies(to: shape) == (SGEMM.Microkernel.preferred == .tile12x32))
    let (height, width) = (shape.geometry.height, shape.geometry.width)
    let plane = height.input * width.input
    let input = (0..<(shape.batch * shape.channels * plane)).map { Float(($0 * 37 + 11) % 9 - 4) }
    let scales = (0..<(shape.batch * shape.channels)).map { Float(($0 * 5 + 3) % 7 - 3) }
    let weights = (0..<(shape.outputs * shape.depth)).map { Float(($0 * 29 + 5) % 9 - 4) / 2 }
    let bias = (0..<shape.outputs).map { Float($0 % 5) - 2 }
    var output = [Float](repeating: .nan, count: shape.batch * shape.outputs * shape.positions)
    let packed = OutputRowConvolution.PackedWeights(weights: weights, outputs: shape.outputs, depth: shape.depth)
    input.withUnsafeBufferPointer { x in
      bias.withUnsafeBufferPointer { b in
        scales.withUnsafeBufferPointer { s in
          output.withUnsafeMutableBufferPointer { y in
            OutputRowConvolution.run(
              shape, input: x.baseAddress!, weights: packed, output: y.baseAddress!,
              inputScales: scaled
                ? Convolution.ChannelScales(values: s.baseAddress!, imageStride: shape.channels) : nil,
              epilogue: { _ in GEMMEpilogue(rowBias: b.baseAddress!, activation: .relu) },
              pool: CPUThreadPool(threads: threads))
          }
        }
      }
    }
    // Outputs start as NaN: one left unwritten fails the test as a wrong one does.
    let scaledInput = scaled ? input.indices.map { input[$0] * scales[$0 / plane] } : input
    let expected = Self.loop(shape, input: scaledInput, weights: weights, bias: bias)
    let wrong = zip(output, expected).filter { !(abs(Double($0) - $1) <= 1e-4) }
    #expect(wrong.count == 0, "\(conv): e.g. \(wrong.prefix(3))")
  }

  /// Which shapes it takes: up to 16 seven-wide output rows of one group, strides 1 or 2 along
  /// them.
  @Test("which convolutions it runs")
  func fits() {
    func sizes(
      side: Int, kernel: Int, stride: Int = 1, pads: Int = 1, groups: Int = 1, height: Int? = nil
    ) -> Convolution.Sizes {
      let geometry = WindowGeometry(
        verified: ["pads": .ints([pads, pads, pads, pads]), "strides": .ints([stride, stride])],
        input: Shape([1, 8, height ?? side, side]), kernel: [kernel, kernel])
      return Convolution.Sizes(batch: 1, channels: 8, outputs: 8, groups: groups, geometry: geometry)
    }
    #expect(OutputRowConvolution.fits(sizes(side: 7, kernel: 3)))
    #expect(OutputRowConvolution.fits(sizes(side: 14, kernel: 3, stride: 2)))
    #expect(!OutputRowConvolution.fits(sizes(side: 21, kernel: 3, stride: 3)))
    #expect(!OutputRowConvolution.fits(sizes(side: 8, kernel: 3)))
    #expect(OutputRowConvolution.fits(sizes(side: 14, kernel: 3, stride: 2, height: 31)))
    #expect(!OutputRowConvolution.fits(sizes(side: 14, kernel: 3, stride: 2, height: 33)))
    #expect(OutputRowConvolution.fits(sizes(side: 7, kernel: 1, pads: 0)))
    #expect(!OutputRowConvolution.fits(sizes(side: 13, kernel: 1, stride: 2, pads: 0)))
    #expect(!OutputRowConvolution.fits(sizes(side: 7, kernel: 3, groups: 2)))
  }

  /// Through the cpu device: a ResNet-like 7×7 layer of constant weights keeps their packing and
  /// matches the reference evaluator on two runs with other inputs.
  @Test("a constant-weight 7x7 layer on cpu matches the reference on every run", arguments: [1, 3])
  func device(threads: Int) throws {
    let conv = NativeConvolutionConstantWeightTests.Case(
      channels: 30, height: 7, width: 7, outputs: 40, kernel: 3, pad: 1)
    let graph = try TestSupport.parseOne(NativeConvolutionConstantWeightTests.text(conv))
    let device = CPUDevice(library: StandardKernelLibrary(), pool: CPUThreadPool(threads: threads))
    guard case .convolution(let native) = try device.routes(for: graph).first else {
      Issue.record("not a native convolution")
      return
    }
    #expect((native.outputRowWeights != nil) == (SGEMM.Microkernel.preferred == .tile12x32))
    let compiled = try device.compile(graph)
    var generator = SeededRandom(seed: 41)
    for _ in 0..<2 {
      let inputs = graph.argumentTypes.map { Tensor.random($0, integerBound: 5, using: &generator) }
      let expected = try TestSupport.evaluate(graph, inputs)[0]
      let actual = try compiled.run(inputs: inputs)[0]
      #expect(TestSupport.toleranceRatio(actual, expected, atol: 1e-4, rtol: 1e-5) <= 1)
    }
  }

  /// `relu(conv2d(input, weights) + bias)`, NCHW, one group, summed in `Double`.
  static func loop(_ shape: Convolution.Sizes, input: [Float], weights: [Float], bias: [Float]) -> [Double] {
    let (rows, columns) = (shape.geometry.height, shape.geometry.width)
    var output: [Double] = []
    for image in 0..<shape.batch {
      for o in 0..<shape.outputs {
        for oy in 0..<rows.output {
          for ox in 0..<columns.output {
            var sum = Double(bias[o])
            for c in 0..<shape.channels {
              for ky in 0..<rows.kernel {
                for kx in 0..<columns.kernel {
                  let (y, x) = (rows.position(window: oy, tap: ky), columns.position(window: ox, tap: kx))
                  guard (0..<rows.input).contains(y) && (0..<columns.input).contains(x) else { continue }
                  let value = input[((image * shape.channels + c) * rows.input + y) * columns.input + x]
                  let weight = weights[((o * shape.channels + c) * rows.kernel + ky) * columns.kernel + kx]
                  sum += Double(value) * Double(weight)
                }
              }
            }
            output.append(Swift.max(0, sum))
          }
        }
      }
    }
    return output
  }
}
