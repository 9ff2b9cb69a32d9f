import CTesseraSIMD
import TesseraIR

/// Depthwise 3×3 convolution at stride 2 with one row and column of padding before (a
/// MobileNet's downsampling layers), read straight from the NCHW input: each input row's columns
/// are split into the three taps of sixteen outputs in registers (``Taps``: two loads, three
/// shuffles), so nothing is copied and no padded plane is written or read back.
/// Sixteen outputs of a row at a time, walking down a column of vectors: the split of input row
/// `2y + 1` serves output row `y`'s last taps and row `y + 1`'s first. Each output element adds
/// its taps' products in the order (ky, kx), rows outside the input skipped, as an unpadded
/// loop does; the epilogue runs over each finished plane. Threads take whole planes.
///
/// ``DepthwiseConvolution`` copied each plane into padded even and odd columns first, and the
/// copy took more of MobileNetV3-Small's two such layers (16 channels 112×112 → 56×56, 72
/// channels 56×56 → 28×28) than their multiply-adds.
enum StrideTwoDepthwise {
  /// Whether `shape` is depthwise, 3×3 at stride 2 with no dilation and one row and column of
  /// padding before (any after), on output rows wider than eight.
  static func applies(to shape: Convolution.Sizes) -> Bool {
    let axes = [shape.geometry.height, shape.geometry.width]
    return DepthwiseConvolution.applies(to: shape) && shape.geometry.width.output > 8
      && axes.allSatisfy { $0.kernel == 3 && $0.stride == 2 && $0.dilation == 1 && $0.padBegin == 1 }
  }

  /// `output[N, C, OH, OW] = epilogue(depthwise conv2d(input, weights))`; `epilogue(n)` is image
  /// `n`'s epilogue over its `[C, OH·OW]` product (rows are channels).
  static func run(
    _ shape: Convolution.Sizes, input: UnsafePointer<Float>, weights: UnsafePointer<Float>,
    output: UnsafeMutablePointer<Float>, epilogue: (Int) -> GEMMEpilogue, pool: CPUThreadPool
  ) {
    let operands = Operands(
      input: input, weights: weights, output: output, epilogues: (0..<shape.batch).map(epilogue))
    let (rows, columns) = (shape.geometry.height, shape.geometry.width)
    let (planeInput, positions, channels) = (rows.input * columns.input, shape.positions, shape.channels)
    pool.forEachChunk(of: shape.batch * channels) { chunk in
      for plane in chunk {
        let (image, channel) = plane.quotientAndRemainder(dividingBy: channels)
        let planeOutput = operands.output + plane * positions
        let kernel = Kernel(operands.weights + channel * 9)
        // The last vector of each row first: a whole vector stored past a row's end lands on the
        // next row's first outputs, stored after it.
        for start in stride(from: 0, to: columns.output, by: 16).reversed() {
          column(
            kernel, from: operands.input + plane * planeInput, rows: rows, columns: columns, start: start,
            into: planeOutput)
        }
        let imageOutput = operands.output + image * channels * positions
        operands.epilogues[image].apply(row: channel, columns: 0..<positions, c: imageOutput, ldc: positions)
      }
    }
  }

  /// One channel's nine weights, each in every lane, a row of the kernel apiece.
  private struct Kernel {
    let top: (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>)
    let middle: (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>)
    let bottom: (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>)

    init(_ w: UnsafePointer<Float>) {
      @inline(__always) func row(_ ky: Int) -> (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>) {
        (SIMD16(repeating: w[3 * ky]), SIMD16(repeating: w[3 * ky + 1]), SIMD16(repeating: w[3 * ky + 2]))
      }
      (top, middle, bottom) = (row(0), row(1), row(2))
    }
  }

  /// The three taps of sixteen outputs from one input row: output `x0 + i` reads columns
  /// `2(x0 + i) − 1`, `2(x0 + i)` and `2(x0 + i) + 1`, here lane `i` of ``left``, ``middle`` and
  /// ``right``, columns outside the row zero.
  private struct Taps {
    var left: SIMD16<Float>, middle: SIMD16<Float>, right: SIMD16<Float>

    /// Row `row` of the plane at `plane`, for the outputs from `start`: the 32 columns from
    /// `2 · start` (masked at the row's end) split into even and odd lanes, the odd ones moved up
    /// a lane behind column `2 · start − 1`.
    @inline(__always)
    init(_ plane: UnsafePointer<Float>, row: Int, start: Int, columns: WindowGeometry.Axis) {
      let line = plane + row &* columns.input, first = 2 &* start, count = columns.input
      let low = tessera_load16_before(line, first, count), high = tessera_load16_before(line, first &+ 16, count)
      middle = tessera_even_lanes32(low, high)
      right = tessera_odd_lanes32(low, high)
      left = tessera_shift_up(first > 0 ? line[first &- 1] : 0, right)
    }

    /// `sum` plus this row's three products by `weights`, left to right.
    @inline(__always)
    func accumulate(_ sum: SIMD16<Float>, _ weights: (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>)) -> SIMD16<Float> {
      sum.addingProduct(weights.0, left).addingProduct(weights.1, middle).addingProduct(weights.2, right)
    }
  }

  /// Outputs `start ..< start + 16` of every output row of one plane. Every output row's first
  /// input row lies inside the input (one row of padding before, stride 2), and from row 1 on it
  /// is the row before's last.
  @inline(__always)
  private static func column(
    _ kernel: Kernel, from plane: UnsafePointer<Float>, rows: WindowGeometry.Axis, columns: WindowGeometry.Axis,
    start: Int, into output: UnsafeMutablePointer<Float>
  ) {
    let count = Swift.min(16, columns.output &- start), planeEnd = rows.output &* columns.output
    var above = Taps(plane, row: 0, start: start, columns: columns)
    for y in 0..<rows.output {
      var sum = SIMD16<Float>()
      if y > 0 { sum = above.accumulate(sum, kernel.top) }
      let middleRow = 2 &* y
      if middleRow < rows.input {
        sum = Taps(plane, row: middleRow, start: start, columns: columns).accumulate(sum, kernel.middle)
      }
      if middleRow &+ 1 < rows.input {
        above = Taps(plane, row: middleRow &+ 1, start: start, columns: columns)
        sum = above.accumulate(sum, kernel.bottom)
      }
      let offset = y &* columns.output &+ start, target = output + offset
      if offset &+ 16 <= planeEnd {
        UnsafeMutableRawPointer(target).storeBytes(of: sum, as: SIMD16<Float>.self)
      } else {
        for lane in 0..<count { target[lane] = sum[lane] }
      }
    }
  }
}

/// The operands handed to worker threads. `@unchecked Sendable`: the input and weights are only
/// read, each thread writes its own planes, and the epilogues carry read-only pointers the caller
/// keeps alive for the call.
private struct Operands: @unchecked Sendable {
  let input: UnsafePointer<Float>
  let weights: UnsafePointer<Float>
  let output: UnsafeMutablePointer<Float>
  let epilogues: [GEMMEpilogue]
}
