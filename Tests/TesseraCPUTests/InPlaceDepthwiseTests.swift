import TesseraIR
import Testing

@testable import TesseraCPU

/// ``InPlaceDepthwise`` against a plain loop over the window, on the geometries it takes, with
/// each epilogue; and the geometries it leaves to the other kernels.
@Suite("Depthwise 3×3 convolution at stride 1 or 2 read in place")
struct InPlaceDepthwiseTests {
  typealias Case = ChannelBlockedDepthwiseTests.Case

  static let cases: [Case] = [
    // MobileNetV3-Small's first depthwise layer: 112×112 to 56×56 (four whole vectors a row).
    Case(channels: 16, height: 112, width: 112, kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1]),
    // An odd width and height: 29 outputs a row (a last vector of 13), no padding after.
    Case(channels: 3, height: 31, width: 57, kernel: [3, 3], strides: [2, 2], pads: [1, 1, 0, 0]),
    // Two images; 17 outputs a row (a last vector of one), the last column's taps on padding.
    Case(batch: 2, channels: 5, height: 9, width: 34, kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1]),
    // Two rows and columns of padding after: the last output row and column read only padding
    // past their first taps.
    Case(channels: 4, height: 10, width: 20, kernel: [3, 3], strides: [2, 2], pads: [1, 1, 2, 2]),
    // 9 rows and 57 columns, padded on every side: 5 output rows of 29.
    Case(channels: 3, height: 9, width: 57, kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1]),
    // Stride 1: MobileNetV3-Small's 88-channel 28×28 layer (a last vector of 12).
    Case(channels: 88, height: 28, width: 28, kernel: [3, 3], pads: [1, 1, 1, 1]),
    // Stride 1, no padding after: 19 outputs a row, 8 rows.
    Case(channels: 3, height: 9, width: 20, kernel: [3, 3], pads: [1, 1, 0, 0]),
    // Stride 1, two images, two rows and columns of padding after: 18 outputs a row, the last
    // row and column reading one input row or column.
    Case(batch: 2, channels: 2, height: 7, width: 15, kernel: [3, 3], pads: [1, 1, 2, 2]),
    // Stride 1, 33 outputs a row (three vectors, the last of one), one row.
    Case(channels: 2, height: 1, width: 33, kernel: [3, 3], pads: [1, 1, 1, 1]),
  ]

  @Test("matches a plain loop over the window", arguments: cases.indices, ChannelBlockedDepthwiseTests.Tail.allCases)
  func matchesPlainLoop(index: Int, tail: ChannelBlockedDepthwiseTests.Tail) {
    #expect(InPlaceDepthwise.applies(to: Self.cases[index].sizes))
    ChannelBlockedDepthwiseTests.expectMatchesPlainLoop(Self.cases[index], tail: tail, kernel: InPlaceDepthwise.run)
  }

  @Test("leaves other windows to the other depthwise kernels")
  func declines() {
    let others = [
      // 5x5; strides 1 and 2 mixed; stride 3; no padding before; three after; eight outputs a
      // row; a dilation.
      Case(channels: 8, height: 28, width: 28, kernel: [5, 5], strides: [2, 2], pads: [2, 2, 2, 2]),
      Case(channels: 8, height: 28, width: 28, kernel: [3, 3], strides: [1, 2], pads: [1, 1, 1, 1]),
      Case(channels: 8, height: 28, width: 28, kernel: [3, 3], strides: [3, 3], pads: [1, 1, 1, 1]),
      Case(channels: 8, height: 28, width: 28, kernel: [3, 3], strides: [2, 2], pads: [0, 0, 1, 1]),
      Case(channels: 8, height: 28, width: 28, kernel: [3, 3], pads: [1, 1, 3, 3]),
      Case(channels: 8, height: 16, width: 16, kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1]),
      Case(
        channels: 8, height: 28, width: 28, kernel: [3, 3], strides: [2, 2], dilations: [2, 2], pads: [1, 1, 1, 1]),
    ]
    for other in others { #expect(!InPlaceDepthwise.applies(to: other.sizes), "\(other)") }
  }
}
