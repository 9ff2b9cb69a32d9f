import CTesseraSIMD
import TesseraIR
import Testing

@testable import TesseraCPU

/// ``ChannelBlockedDepthwise`` against a plain loop over the window, on odd geometries, with its
/// epilogues applied in lanes and over planes; and the 16×16 transpose it interleaves with.
@Suite("Depthwise convolution sixteen channels a vector")
struct ChannelBlockedDepthwiseTests {
  /// Input `[batch, channels, height, width]`, a depthwise `kernel`, strides, dilations, pads
  /// `[top, left, bottom, right]`.
  struct Case: CustomStringConvertible, Sendable {
    var batch = 1
    var channels: Int, height: Int, width: Int
    var kernel: [Int], strides = [1, 1], dilations = [1, 1], pads = [0, 0, 0, 0]

    var sizes: Convolution.Sizes {
      let geometry = WindowGeometry(
        verified: ["pads": .ints(pads), "strides": .ints(strides), "dilations": .ints(dilations)],
        input: Shape([batch, channels, height, width]), kernel: kernel)
      return Convolution.Sizes(
        batch: batch, channels: channels, outputs: channels, groups: channels, geometry: geometry)
    }

    var description: String {
      "\(batch)x\(channels)x\(height)x\(width), \(kernel) s\(strides) d\(dilations) p\(pads)"
    }
  }

  static let cases: [Case] = [
    // MobileNetV3's 7×7 planes under a 5x5 window: one whole block of channels.
    Case(channels: 16, height: 7, width: 7, kernel: [5, 5], pads: [2, 2, 2, 2]),
    // Stride 2 to 7×7 outputs, two images, 40 channels (two blocks and a half).
    Case(batch: 2, channels: 40, height: 14, width: 14, kernel: [5, 5], strides: [2, 2], pads: [2, 2, 2, 2]),
    // Strides (1, 2) with dilations (2, 1) and uneven pads; 17 channels (a block and one).
    Case(
      channels: 17, height: 9, width: 11, kernel: [3, 3], strides: [1, 2], dilations: [2, 1], pads: [2, 0, 1, 3]),
    // 15 outputs a row (a block of eight and one of seven), stride 2; 33 channels.
    Case(channels: 33, height: 20, width: 30, kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1]),
    // Fewer channels than a vector.
    Case(channels: 5, height: 6, width: 6, kernel: [3, 3], pads: [1, 1, 1, 1]),
    // One output column under stride 3.
    Case(channels: 20, height: 3, width: 1, kernel: [3, 3], strides: [3, 3], pads: [1, 1, 1, 1]),
    // Rows of exactly eight outputs, a 3x5 window with a column dilation, uneven pads.
    Case(channels: 48, height: 8, width: 8, kernel: [3, 5], dilations: [1, 2], pads: [0, 4, 2, 0]),
  ]

  /// The epilogues: none; a relu alone; a bias per channel and an activation (applied in the
  /// lanes where the kernel does that); a residual added before a relu (applied over each plane).
  enum Tail: CaseIterable, Sendable {
    case none, relu, biasRelu, biasHardSwish, residualRelu
  }

  @Test("matches a plain loop over the window", arguments: cases.indices, Tail.allCases)
  func matchesPlainLoop(index: Int, tail: Tail) {
    Self.expectMatchesPlainLoop(Self.cases[index], tail: tail, kernel: ChannelBlockedDepthwise.run)
  }

  /// A depthwise kernel's signature (``ChannelBlockedDepthwise/run(_:input:weights:output:epilogue:pool:)``).
  typealias Kernel = (
    Convolution.Sizes, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, (Int) -> GEMMEpilogue,
    CPUThreadPool
  ) -> Void

  /// Expects `kernel` on `testCase` with `tail` to match ``plainLoop(_:input:weights:bias:residual:tail:)``
  /// on one and on three threads.
  static func expectMatchesPlainLoop(_ testCase: Case, tail: Tail, kernel: Kernel) {
    let shape = testCase.sizes
    let (rows, columns) = (shape.geometry.height, shape.geometry.width)
    let (channels, positions) = (shape.channels, shape.positions)
    let taps = rows.kernel * columns.kernel
    // Multiples of 1/4 up to 1: every product and sum is exact in Float and in Double.
    let input = (0..<(shape.batch * channels * rows.input * columns.input)).map { Float(($0 * 7) % 9 - 4) / 4 }
    let weights = (0..<(channels * taps)).map { Float(($0 * 5) % 9 - 4) / 4 }
    let bias = (0..<channels).map { Float($0 % 5 - 2) / 4 }
    let residual = (0..<(shape.batch * channels * positions)).map { Float($0 % 7 - 3) / 4 }
    let expected = plainLoop(shape, input: input, weights: weights, bias: bias, residual: residual, tail: tail)
    for threads in [1, 3] {
      var output = [Float](repeating: .nan, count: shape.batch * channels * positions)
      bias.withUnsafeBufferPointer { bias in
        residual.withUnsafeBufferPointer { residual in
          output.withUnsafeMutableBufferPointer { output in
            kernel(
              shape, input, weights, output.baseAddress!,
              { image in
                epilogue(
                  tail, bias: bias.baseAddress!, residual: residual.baseAddress! + image * channels * positions,
                  positions: positions)
              }, CPUThreadPool(threads: threads))
          }
        }
      }
      let mismatches = zip(output, expected).filter { !(abs(Double($0) - $1) <= 1e-6 * Swift.max(1, abs($1))) }.count
      #expect(mismatches == 0, "\(testCase) \(tail) on \(threads) threads")
    }
  }

  /// The epilogue `tail` names, over an image's planes of `positions` outputs: `bias` per
  /// channel, `residual` the image's.
  static func epilogue(
    _ tail: Tail, bias: UnsafePointer<Float>, residual: UnsafePointer<Float>, positions: Int
  ) -> GEMMEpilogue {
    switch tail {
    case .none: .none
    case .relu: GEMMEpilogue(activation: .relu)
    case .biasRelu: GEMMEpilogue(rowBias: bias, activation: .relu)
    case .biasHardSwish: GEMMEpilogue(rowBias: bias, activation: .hardSwish)
    case .residualRelu:
      GEMMEpilogue(activation: .relu, residual: residual, residualStride: positions, residualBeforeActivation: true)
    }
  }

  /// Each output as a sum over the taps that land inside the input, then the tail, in Double
  /// (the hard-swish as the kernel rounds it, in Float).
  static func plainLoop(
    _ shape: Convolution.Sizes, input: [Float], weights: [Float], bias: [Float], residual: [Float], tail: Tail
  ) -> [Double] {
    let (rows, columns) = (shape.geometry.height, shape.geometry.width)
    let (channels, positions) = (shape.channels, shape.positions)
    var output = [Double](repeating: 0, count: shape.batch * channels * positions)
    for image in 0..<shape.batch {
      for channel in 0..<channels {
        let plane = (image * channels + channel) * rows.input * columns.input
        for oy in 0..<rows.output {
          for ox in 0..<columns.output {
            var sum = 0.0
            for ky in 0..<rows.kernel {
              let y = oy * rows.stride - rows.padBegin + ky * rows.dilation
              guard y >= 0 && y < rows.input else { continue }
              for kx in 0..<columns.kernel {
                let x = ox * columns.stride - columns.padBegin + kx * columns.dilation
                guard x >= 0 && x < columns.input else { continue }
                sum +=
                  Double(weights[(channel * rows.kernel + ky) * columns.kernel + kx])
                  * Double(input[plane + y * columns.input + x])
              }
            }
            let index = (image * channels + channel) * positions + oy * columns.output + ox
            switch tail {
            case .none: output[index] = sum
            case .relu: output[index] = Swift.max(sum, 0)
            case .biasRelu: output[index] = Swift.max(sum + Double(bias[channel]), 0)
            case .biasHardSwish:
              let x = Float(sum + Double(bias[channel]))
              output[index] = Double(x * Swift.max(0, Swift.min(1, x * Float(1.0 / 6) + 0.5)))
            case .residualRelu: output[index] = Swift.max(sum + Double(residual[index]), 0)
            }
          }
        }
      }
    }
    return output
  }

  @Test("the 16×16 transpose, as built and with AVX-512 where the CPU has it, between strided blocks")
  func transpose() {
    let (sourceStride, targetStride) = (19, 17)
    let source = (0..<(16 * sourceStride)).map { Float($0) }
    var expected = [Float](repeating: -1, count: 16 * targetStride)
    for r in 0..<16 {
      for c in 0..<16 { expected[c * targetStride + r] = source[r * sourceStride + c] }
    }
    var built = [Float](repeating: -1, count: 16 * targetStride)
    tessera_transpose16(source, sourceStride, &built, targetStride)
    #expect(built == expected)
    #if arch(x86_64)
      if tessera_has_avx512_vnni() != 0 {
        var vectors = [Float](repeating: -1, count: 16 * targetStride)
        tessera_transpose16_avx512(source, sourceStride, &vectors, targetStride)
        #expect(vectors == expected)
      }
    #endif
  }
}
