import TesseraIR
import Testing

@testable import TesseraCPU

/// ``WinogradConvolution`` against a plain `Double` loop: on every thread count it must cover
/// each output once, whether the threads take bands of tile rows or share chunks of them, and
/// however many chunks a small level-2 cache makes, on every microkernel. Inputs are small integers and weights halves,
/// so every sum the transforms make is exact in f32 and the results must match to rounding.
@Suite("Winograd F(2x2, 3x3) convolution")
struct WinogradConvolutionTests {
  /// One case: `channels → outputs` over `height × width` with pads `[top, left, bottom,
  /// right]`, `groups` groups, `batch` images.
  struct Case: CustomStringConvertible, Sendable {
    var batch = 1
    var channels: Int, outputs: Int, height: Int, width: Int
    var pads: [Int]
    var groups = 1

    var sizes: Convolution.Sizes {
      let geometry = WindowGeometry(
        verified: ["pads": .ints(pads), "strides": .ints([1, 1]), "dilations": .ints([1, 1])],
        input: Shape([batch, channels, height, width]), kernel: [3, 3])
      return Convolution.Sizes(batch: batch, channels: channels, outputs: outputs, groups: groups, geometry: geometry)
    }

    var description: String {
      "\(batch)x\(channels)x\(height)x\(width) → \(outputs) p\(pads) g\(groups)"
    }
  }

  static let cases: [Case] = [
    // 11×13 outputs: 6 tile rows, fewer than four per thread on 3 threads (one shared band);
    // 13 input channels and 27 outputs (two whole 12-row panels and 3 rows).
    Case(channels: 13, outputs: 27, height: 11, width: 13, pads: [1, 1, 1, 1]),
    // 25×23 outputs, no padding on two sides: 13 tile rows, bands on 3 threads; odd channels.
    Case(channels: 7, outputs: 5, height: 27, width: 24, pads: [0, 0, 0, 1]),
    // Two images, two groups of 6 → 9 each, uneven pads, tile rows of 17 (across micro-panels).
    Case(batch: 2, channels: 12, outputs: 18, height: 20, width: 33, pads: [2, 0, 1, 1], groups: 2),
    // 14×14 at 40 channels: ResNet's small layers (7 tile rows, 49 tiles).
    Case(channels: 40, outputs: 33, height: 14, width: 14, pads: [1, 1, 1, 1]),
  ]

  /// Level-2 sizes: the host's (one chunk per band on these shapes), 100 KiB (a few tile rows a
  /// chunk on most) and 1 KiB (half a micro-panel a chunk).
  static let levelTwoSizes = [CacheSizes.host.level2, 100 << 10, 1 << 10]

  @Test("matches a plain loop with a bias and relu", arguments: cases.indices, [1, 3])
  func matchesLoop(index: Int, threads: Int) {
    let shape = Self.cases[index].sizes
    let (inputCount, weightCount) = (
      shape.batch * shape.channels * shape.geometry.height.input * shape.geometry.width.input,
      shape.outputs * shape.channels / shape.groups * 9
    )
    let input = (0..<inputCount).map { Float(($0 * 37 + 11) % 9 - 4) }
    let weights = (0..<weightCount).map { Float(($0 * 29 + 5) % 9 - 4) / 2 }
    let bias = (0..<shape.outputs).map { Float($0 % 5) - 2 }
    let expected = Self.loop(shape, input: input, weights: weights, bias: bias)
    let runs = Self.levelTwoSizes.flatMap { level2 in SGEMM.Microkernel.allCases.map { (level2, $0) } }
    for (level2, microkernel) in runs {
      var output = [Float](repeating: .nan, count: expected.count)
      input.withUnsafeBufferPointer { x in
        weights.withUnsafeBufferPointer { w in
          bias.withUnsafeBufferPointer { b in
            output.withUnsafeMutableBufferPointer { y in
              WinogradConvolution.run(
                shape, input: x.baseAddress!, weights: w.baseAddress!, output: y.baseAddress!,
                epilogue: { _ in GEMMEpilogue(rowBias: b.baseAddress!, activation: .relu) },
                pool: CPUThreadPool(threads: threads), caches: CacheSizes(level1: 32 << 10, level2: level2),
                microkernel: microkernel)
            }
          }
        }
      }
      // Outputs start as NaN: one left unwritten fails the test as a wrong one does.
      let wrong = zip(output, expected).filter { !(abs(Double($0) - $1) <= 1e-4) }
      #expect(
        wrong.isEmpty,
        "\(Self.cases[index]) level 2 \(level2) \(microkernel): \(wrong.count) wrong, e.g. \(wrong.prefix(3))")
    }
  }

  /// A band's chunks never hold more tile rows than it has, nor fewer than half a micro-panel's
  /// tiles, and more only where they fit the budget.
  @Test("chunks of tile rows fit the budget")
  func chunkRows() {
    let tiles = WinogradTileGrid(Self.cases[3].sizes.geometry)
    typealias Band = WinogradTileBand<GEMMTile12x32>
    #expect(tiles.rowTiles == 8)
    #expect(Band.chunkRows(count: 7, tiles: tiles, channels: 40, budget: 1 << 30) == 7)
    #expect(Band.chunkRows(count: 7, tiles: tiles, channels: 40, budget: 1) == 2)
    #expect(Band.chunkRows(count: 1, tiles: tiles, channels: 40, budget: 1) == 1)
    #expect(Band.chunkRows(count: 7, tiles: tiles, channels: 40, budget: 16 * 40 * 32 * 4) == 4)
  }

  /// `relu(conv2d(input, weights) + bias)`, NCHW, summed in `Double`.
  static func loop(_ shape: Convolution.Sizes, input: [Float], weights: [Float], bias: [Float]) -> [Double] {
    let (rows, columns) = (shape.geometry.height, shape.geometry.width)
    let (groupChannels, groupOutputs) = (shape.channels / shape.groups, shape.outputs / shape.groups)
    var output: [Double] = []
    for image in 0..<shape.batch {
      for o in 0..<shape.outputs {
        let group = o / groupOutputs
        for oy in 0..<rows.output {
          for ox in 0..<columns.output {
            var sum = Double(bias[o])
            for c in 0..<groupChannels {
              let channel = group * groupChannels + c
              for ky in 0..<3 {
                for kx in 0..<3 {
                  let (y, x) = (rows.position(window: oy, tap: ky), columns.position(window: ox, tap: kx))
                  guard (0..<rows.input).contains(y) && (0..<columns.input).contains(x) else { continue }
                  let value = input[((image * shape.channels + channel) * rows.input + y) * columns.input + x]
                  sum += Double(value) * Double(weights[((o * groupChannels + c) * 3 + ky) * 3 + kx])
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
