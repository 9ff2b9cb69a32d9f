import CTesseraSIMD
import TesseraIR

/// Depthwise 3×3 convolution at stride 1 or 2 with one row and column of padding before (a
/// MobileNet's depthwise layers), read straight from the NCHW input: the three taps of sixteen
/// outputs are loaded from each input row into registers (``Taps``: at stride 1 three loads,
/// masked at the row's ends; at stride 2 two loads of 32 columns split into even and odd lanes),
/// so nothing is copied and no padded plane is written or read back. Sixteen outputs of a row at
/// a time, walking down a column of vectors, each input row's taps loaded once and carried to
/// the output rows below that read it. Each output element adds its taps' products in the order
/// (ky, kx), rows outside the input skipped, as an unpadded loop does; a bias and a relu are
/// applied before the stores, any other epilogue over each finished plane. Threads take whole
/// planes.
///
/// ``DepthwiseConvolution`` copied each plane into padded rows first (at stride 2 split into even
/// and odd columns), and the copy took more of MobileNetV3-Small's stride-2 layers (16 channels
/// 112×112 → 56×56, 72 channels 56×56 → 28×28) than their multiply-adds.
enum InPlaceDepthwise {
  /// Whether `shape` is depthwise, 3×3 at stride 1 or 2 (the same along both axes) with no
  /// dilation, one row and column of padding before and at most two after (so every output row
  /// past the first has its first input row inside the input), on output rows wider than eight.
  static func applies(to shape: Convolution.Sizes) -> Bool {
    let (rows, columns) = (shape.geometry.height, shape.geometry.width)
    return DepthwiseConvolution.applies(to: shape) && columns.output > 8 && rows.stride == columns.stride
      && [1, 2].contains(columns.stride)
      && [rows, columns].allSatisfy { $0.kernel == 3 && $0.dilation == 1 && $0.padBegin == 1 && $0.padEnd <= 2 }
  }

  /// `output[N, C, OH, OW] = epilogue(depthwise conv2d(input, weights))`; `epilogue(n)` is image
  /// `n`'s epilogue over its `[C, OH·OW]` product (rows are channels).
  static func run(
    _ shape: Convolution.Sizes, input: UnsafePointer<Float>, weights: UnsafePointer<Float>,
    output: UnsafeMutablePointer<Float>, epilogue: (Int) -> GEMMEpilogue, pool: CPUThreadPool
  ) {
    let operands = ConvolutionOperands(
      input: input, weights: weights, output: output, epilogues: (0..<shape.batch).map(epilogue))
    let (rows, columns) = (shape.geometry.height, shape.geometry.width)
    let (planeInput, positions, channels) = (rows.input * columns.input, shape.positions, shape.channels)
    pool.forEachChunk(of: shape.batch * channels) { chunk in
      for plane in chunk {
        let (image, channel) = plane.quotientAndRemainder(dividingBy: channels)
        let epilogue = operands.epilogues[image]
        // A bias per channel and a relu go on the sums before their stores; any other epilogue
        // runs over the finished plane.
        let relu = epilogue.isRowBiasAndActivation && epilogue.activation == .relu
        let column = Column(
          plane: operands.input + plane * planeInput, kernel: Kernel(operands.weights + channel * 9), rows: rows,
          columns: columns, output: operands.output + plane * positions,
          bias: SIMD16(repeating: epilogue.rowBias.map { $0[channel] } ?? 0), relu: relu)
        // The last vector of each row first: a whole vector stored past a row's end lands on the
        // next row's first outputs, stored after it.
        for start in stride(from: 0, to: columns.output, by: 16).reversed() {
          if columns.stride == 1 { column.unitStride(start: start) } else { column.strideTwo(start: start) }
        }
        if !relu {
          let imageOutput = operands.output + image * channels * positions
          epilogue.apply(row: channel, columns: 0..<positions, c: imageOutput, ldc: positions)
        }
      }
    }
  }

  /// One channel's nine weights, each in every lane, a row of the kernel apiece.
  private struct Kernel {
    typealias Row = (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>)
    let top: Row, middle: Row, bottom: Row

    init(_ w: UnsafePointer<Float>) {
      @inline(__always) func row(_ ky: Int) -> Row {
        (SIMD16(repeating: w[3 * ky]), SIMD16(repeating: w[3 * ky + 1]), SIMD16(repeating: w[3 * ky + 2]))
      }
      (top, middle, bottom) = (row(0), row(1), row(2))
    }
  }

  /// The three taps of sixteen outputs `x0 + i` from one input row: the columns `s(x0 + i) − 1`,
  /// `s(x0 + i)` and `s(x0 + i) + 1` at stride `s`, here lane `i` of ``left``, ``middle`` and
  /// ``right``, columns outside the row zero.
  private struct Taps {
    var left = SIMD16<Float>(), middle = SIMD16<Float>(), right = SIMD16<Float>()

    init() {}

    /// Stride 1: three loads from column `start − 1` on, masked where they leave the row.
    @inline(__always)
    init(unitStride line: UnsafePointer<Float>, start: Int, count: Int) {
      left = tessera_load16_within(line, start &- 1, count)
      middle = tessera_load16_within(line, start, count)
      right = tessera_load16_within(line, start &+ 1, count)
    }

    /// Stride 2: the 32 columns from `2 · start` (masked at the row's end) split into even and
    /// odd lanes, the odd ones moved up a lane behind column `2 · start − 1`.
    @inline(__always)
    init(strideTwo line: UnsafePointer<Float>, start: Int, count: Int) {
      let first = 2 &* start
      let low = tessera_load16_within(line, first, count), high = tessera_load16_within(line, first &+ 16, count)
      middle = tessera_even_lanes32(low, high)
      right = tessera_odd_lanes32(low, high)
      left = tessera_shift_up(first > 0 ? line[first &- 1] : 0, right)
    }

    /// `sum` plus this row's three products by `weights`, left to right.
    @inline(__always)
    func accumulate(_ sum: SIMD16<Float>, _ weights: Kernel.Row) -> SIMD16<Float> {
      sum.addingProduct(weights.0, left).addingProduct(weights.1, middle).addingProduct(weights.2, right)
    }
  }

  /// One plane's operands, for a column of output vectors.
  private struct Column {
    let plane: UnsafePointer<Float>
    let kernel: Kernel
    let rows: WindowGeometry.Axis
    let columns: WindowGeometry.Axis
    let output: UnsafeMutablePointer<Float>
    /// The channel's bias in every lane (zeros where there is none), added before ``relu``.
    let bias: SIMD16<Float>
    /// Whether the sums plus ``bias`` go through a relu before their stores (MobileNets' 3×3
    /// layers): a pass over the plane for it took a tenth of these kernels (16 channels 112→56:
    /// 0.017 → 0.015 ms). Any activation through ``GEMMActivation/sixteen(_:)``, which holds
    /// every activation's code, made them twice as slow, and the bias and relu as a generic type
    /// a column loop is compiled for, slower too.
    let relu: Bool

    /// Input row `row`.
    @inline(__always)
    func line(_ row: Int) -> UnsafePointer<Float> { plane + row &* columns.input }

    /// Stride 1: output row `y` reads input rows `y − 1`, `y` and `y + 1`; the taps of the last
    /// two are carried to row `y + 1`.
    @inline(__always)
    func unitStride(start: Int) {
      let count = columns.input
      var (above, current) = (Taps(), Taps(unitStride: line(0), start: start, count: count))
      for y in 0..<rows.output {
        var sum = SIMD16<Float>()
        if y > 0 { sum = above.accumulate(sum, kernel.top) }
        if y < rows.input { sum = current.accumulate(sum, kernel.middle) }
        above = current
        if y &+ 1 < rows.input {
          current = Taps(unitStride: line(y &+ 1), start: start, count: count)
          sum = current.accumulate(sum, kernel.bottom)
        }
        store(sum, row: y, start: start)
      }
    }

    /// Stride 2: output row `y` reads input rows `2y − 1` (inside the input from `y = 1` on, one
    /// row of padding before), `2y` and `2y + 1`; the last one's taps are carried to row `y + 1`.
    @inline(__always)
    func strideTwo(start: Int) {
      let count = columns.input
      var above = Taps()
      for y in 0..<rows.output {
        var sum = SIMD16<Float>()
        if y > 0 { sum = above.accumulate(sum, kernel.top) }
        let middleRow = 2 &* y
        if middleRow < rows.input {
          sum = Taps(strideTwo: line(middleRow), start: start, count: count).accumulate(sum, kernel.middle)
        }
        if middleRow &+ 1 < rows.input {
          above = Taps(strideTwo: line(middleRow &+ 1), start: start, count: count)
          sum = above.accumulate(sum, kernel.bottom)
        }
        store(sum, row: y, start: start)
      }
    }

    /// Stores outputs `start ..< start + 16` of output row `y`, through the bias and relu where
    /// the column applies them.
    @inline(__always)
    func store(_ sums: SIMD16<Float>, row y: Int, start: Int) {
      let sum = relu ? VectorLanes.larger(SIMD16(), sums + bias) : sums
      DepthwiseConvolution.storeOutputs(sum, row: y, start: start, rows: rows, columns: columns, into: output)
    }
  }
}
