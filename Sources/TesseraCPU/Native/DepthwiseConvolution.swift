import TesseraIR

/// Depthwise 2-D convolution (`groups == channels == outputs`: output channel `c` reads input
/// channel `c` alone), run directly instead of as one-row SGEMM products. Each input plane is
/// first copied into a plane padded with zeros on every side (``DepthwisePlane``), its rows split
/// into their column phases where the stride is over 1, so every tap of sixteen neighbouring
/// outputs is one whole-vector load and no tap is skipped: eight output rows are computed at
/// once, sixteen positions at a time (eight where an output row fits in eight,
/// ``DepthwiseLanes``), their eight sums held in registers across all taps and stored straight
/// into the output; the epilogue (bias per channel, activation, residual) runs over each
/// finished plane. Each output element adds its taps' products in the order (ky, kx), as an
/// unpadded loop does, where the padding adds `w · 0`. Threads take whole planes. The windows
/// other kernels take faster go to them first (``Convolution/run``): rows of at most sixteen
/// outputs to ``ChannelBlockedDepthwise`` on 512-bit vectors, 3×3 windows at stride 1 or 2 with
/// one row and column of padding before to ``InPlaceDepthwise``.
///
/// Stride 2 loaded thirty-two floats and took their even lanes at every tap; split once per row
/// instead (``ColumnPhases``), MobileNetV3's stride-2 layers on 56×56 and 28×28 outputs went
/// 0.036 → 0.028 ms and 0.039 → 0.033 ms at one thread on AMD EPYC Zen 5 (their taps alone
/// 0.024 → 0.014 ms; the copy, bound by reading the input, takes most of the rest).
///
/// MobileNetV3's depthwise layers run on 7×7 to 56×56 planes: eight-lane vectors, one output
/// row at a time, with a copy through a scratch row per output row and a `memmove` per input
/// row, spent about four times the time of their multiply-adds on the 7×7 and 14×14 planes;
/// eight independent sums hide the multiply-add's latency where four left half of it exposed.
enum DepthwiseConvolution {
  /// Output rows computed together.
  static let blockRows = 8

  /// Whether `shape` is depthwise.
  static func applies(to shape: Convolution.Sizes) -> Bool {
    shape.groups == shape.channels && shape.outputs == shape.channels && shape.groups > 1
  }

  /// `output[N, C, OH, OW] = epilogue(depthwise conv2d(input, weights))`; `epilogue(n)` is image
  /// `n`'s epilogue over its `[C, OH·OW]` product (rows are channels).
  static func run(
    _ shape: Convolution.Sizes, input: UnsafePointer<Float>, weights: UnsafePointer<Float>,
    output: UnsafeMutablePointer<Float>, epilogue: (Int) -> GEMMEpilogue, pool: CPUThreadPool
  ) {
    if shape.geometry.width.output <= 8 {
      run(EightLanes.self, shape, input: input, weights: weights, output: output, epilogue: epilogue, pool: pool)
    } else {
      run(SixteenLanes.self, shape, input: input, weights: weights, output: output, epilogue: epilogue, pool: pool)
    }
  }

  /// ``run(_:input:weights:output:epilogue:pool:)`` in `Lanes`' vectors.
  private static func run<Lanes: DepthwiseLanes>(
    _ lanes: Lanes.Type, _ shape: Convolution.Sizes, input: UnsafePointer<Float>, weights: UnsafePointer<Float>,
    output: UnsafeMutablePointer<Float>, epilogue: (Int) -> GEMMEpilogue, pool: CPUThreadPool
  ) {
    let layout = DepthwisePlane.Layout(
      rows: shape.geometry.height, columns: shape.geometry.width, blockRows: blockRows, lanes: Lanes.count)
    let operands = ConvolutionOperands(
      input: input, weights: weights, output: output, epilogues: (0..<shape.batch).map(epilogue))
    switch layout.rowStep {
    case 64: run(Lanes.self, RowStep64.self, shape, layout, operands, pool: pool)
    case 128: run(Lanes.self, RowStep128.self, shape, layout, operands, pool: pool)
    case 256: run(Lanes.self, RowStep256.self, shape, layout, operands, pool: pool)
    default: run(Lanes.self, RowStepOfLayout.self, shape, layout, operands, pool: pool)
    }
  }

  /// Every plane in `Lanes`' vectors, output rows `Step` floats apart in the padded plane.
  private static func run<Lanes: DepthwiseLanes, Step: DepthwiseRowStep>(
    _ lanes: Lanes.Type, _ step: Step.Type, _ shape: Convolution.Sizes, _ layout: DepthwisePlane.Layout,
    _ shared: ConvolutionOperands, pool: CPUThreadPool
  ) {
    let (rows, columns) = (layout.rows, layout.columns)
    let taps = rows.kernel * columns.kernel
    let (planeIn, positions, channels) = (rows.input * columns.input, shape.positions, shape.channels)
    pool.forEachChunk(of: shape.batch * channels) { chunk in
      let padded = DepthwisePlane(layout)
      defer { padded.deallocate() }
      for plane in chunk {
        let (image, channel) = plane.quotientAndRemainder(dividingBy: channels)
        padded.fill(from: shared.input + plane * planeIn)
        let planeOutput = shared.output + plane * positions
        let kernel = shared.weights + channel * taps
        for first in stride(from: 0, to: rows.output, by: blockRows) {
          // The last vector of a row first: a whole vector stored past a row's end lands in
          // the next rows' first vectors (a row may be shorter than a vector), stored after it.
          for vector in (0..<layout.vectors).reversed() {
            eightRows(Lanes.self, Step.self, padded, kernel: kernel, first: first, vector: vector, into: planeOutput)
          }
        }
        let imageOutput = shared.output + image * channels * positions
        shared.epilogues[image].apply(row: channel, columns: 0..<positions, c: imageOutput, ldc: positions)
      }
    }
  }

  /// Output vector `vector` of the rows `first ..< first + 8` of one plane, the eight sums held
  /// in registers across every tap; rows past the plane's are not stored, and a vector that would
  /// reach past the plane's end stores only its own columns.
  @inline(__always)
  private static func eightRows<Lanes: DepthwiseLanes, Step: DepthwiseRowStep>(
    _ lanes: Lanes.Type, _ step: Step.Type, _ padded: DepthwisePlane, kernel: UnsafePointer<Float>, first: Int,
    vector: Int, into output: UnsafeMutablePointer<Float>
  ) {
    let layout = padded.layout
    let (rows, columns, width) = (layout.rows, layout.columns, layout.width)
    let rowStep = Step.floats ?? layout.rowStep, taps = padded.taps
    var sums = (
      Lanes.Vector(), Lanes.Vector(), Lanes.Vector(), Lanes.Vector(), Lanes.Vector(), Lanes.Vector(), Lanes.Vector(),
      Lanes.Vector()
    )
    var row = UnsafePointer(padded.values) + first &* rowStep + vector &* Lanes.count
    var weights = kernel
    for _ in 0..<rows.kernel {
      for kx in 0..<columns.kernel {
        let weight = Lanes.Vector(repeating: weights[kx])
        let p = row + taps[kx]
        sums.0 = sums.0.addingProduct(weight, Lanes.load(p))
        sums.1 = sums.1.addingProduct(weight, Lanes.load(p + rowStep))
        sums.2 = sums.2.addingProduct(weight, Lanes.load(p + 2 &* rowStep))
        sums.3 = sums.3.addingProduct(weight, Lanes.load(p + 3 &* rowStep))
        sums.4 = sums.4.addingProduct(weight, Lanes.load(p + 4 &* rowStep))
        sums.5 = sums.5.addingProduct(weight, Lanes.load(p + 5 &* rowStep))
        sums.6 = sums.6.addingProduct(weight, Lanes.load(p + 6 &* rowStep))
        sums.7 = sums.7.addingProduct(weight, Lanes.load(p + 7 &* rowStep))
      }
      row += rows.dilation &* width
      weights += columns.kernel
    }
    let start = vector &* Lanes.count
    @inline(__always) func put(_ r: Int, _ sum: Lanes.Vector) {
      let y = first &+ r
      guard y < rows.output else { return }
      storeOutputs(sum, row: y, start: start, rows: rows, columns: columns, into: output)
    }
    put(0, sums.0)
    put(1, sums.1)
    put(2, sums.2)
    put(3, sums.3)
    put(4, sums.4)
    put(5, sums.5)
    put(6, sums.6)
    put(7, sums.7)
  }

  /// Stores `sums`, the outputs `start ..< start + lanes` of output row `y` of the plane at
  /// `output`: whole, or where the vector would reach past the plane's end, only the row's. A
  /// whole vector stored past a row's end lands on the next row's first outputs, which the
  /// callers store after it.
  @inline(__always)
  static func storeOutputs<Vector: SIMD>(
    _ sums: Vector, row y: Int, start: Int, rows: WindowGeometry.Axis, columns: WindowGeometry.Axis,
    into output: UnsafeMutablePointer<Float>
  ) where Vector.Scalar == Float {
    let offset = y &* columns.output &+ start, target = output + offset
    if offset &+ Vector.scalarCount <= rows.output &* columns.output {
      UnsafeMutableRawPointer(target).storeBytes(of: sums, as: Vector.self)
    } else {
      for lane in 0..<Swift.min(Vector.scalarCount, columns.output &- start) { target[lane] = sums[lane] }
    }
  }
}

/// One input plane copied between zeros, each padded row split into its column phases
/// (``ColumnPhases``: padded column `j` at index `j / stride` of phase `j mod stride`), so that
/// the taps of neighbouring outputs are neighbouring floats of one phase whatever the stride:
/// every tap is one whole-vector load. `padBegin` rows and columns of zeros come before the
/// input, and after it as many as the last block of output rows and the last vector of outputs
/// reach.
struct DepthwisePlane {
  /// The plane's sizes.
  struct Layout {
    let rows: WindowGeometry.Axis
    let columns: WindowGeometry.Axis
    /// Vectors of outputs per output row.
    let vectors: Int
    /// Floats per phase of a padded row.
    let phaseWidth: Int
    /// Floats per padded row: its `stride` phases.
    let width: Int
    /// Floats from the first padded row one output row reads to the next's: `stride · width`,
    /// 64, 128 or 256 where a row that fits allows (then ``DepthwiseRowStep`` makes it a
    /// constant, and the loads of eight rows are one address register plus constant offsets).
    let rowStep: Int
    /// Padded rows.
    let height: Int

    /// The layout for output rows computed `blockRows` at a time, `lanes` outputs a vector.
    init(rows: WindowGeometry.Axis, columns: WindowGeometry.Axis, blockRows: Int, lanes: Int) {
      (self.rows, self.columns) = (rows, columns)
      vectors = (columns.output + lanes - 1) / lanes
      let stride = columns.stride, lastTap = (columns.kernel - 1) * columns.dilation
      // A phase holds every float any vector reads (so the lanes past a row's outputs read its
      // zeros, not the next phase), and the row's floats copied into it.
      let reach = vectors * lanes + lastTap / stride + 1
      let copied = (columns.padBegin + columns.input + stride - 1) / stride
      let least = (Swift.max(reach, copied) + 15) / 16 * 16
      let perPhaseFloat = rows.stride * stride
      let constant = [64, 128, 256].first { $0 % perPhaseFloat == 0 && $0 / perPhaseFloat >= least }
      phaseWidth = constant.map { $0 / perPhaseFloat } ?? least
      width = stride * phaseWidth
      rowStep = rows.stride * width
      let lastRow = ((rows.output + blockRows - 1) / blockRows * blockRows - 1) * rows.stride
      height = Swift.max(rows.padBegin + rows.input, lastRow + (rows.kernel - 1) * rows.dilation + 1)
    }

    /// The floats from the start of a padded row to tap `kx` of its first output: the tap's
    /// phase's start plus its index there.
    func tap(_ kx: Int) -> Int {
      let column = kx * columns.dilation
      return column % columns.stride * phaseWidth + column / columns.stride
    }
  }

  let layout: Layout
  /// The padded rows, `layout.width` floats apart.
  let values: UnsafeMutablePointer<Float>
  /// ``Layout/tap(_:)`` of each tap of a row, read in the kernel's loop.
  let taps: UnsafeMutablePointer<Int>

  /// Zeros for a plane of `layout`, its rows from a cache line's start (so that an eight-lane
  /// load less than nine floats into a row stays within one line).
  init(_ layout: Layout) {
    self.layout = layout
    let count = layout.height * layout.width
    values = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64).bindMemory(
      to: Float.self, capacity: count)
    values.initialize(repeating: 0, count: count)
    taps = .allocate(capacity: layout.columns.kernel)
    for kx in 0..<layout.columns.kernel { taps[kx] = layout.tap(kx) }
  }

  /// Copies the plane at `source` in, row by row into their phases; the padding keeps its zeros.
  func fill(from source: UnsafePointer<Float>) {
    switch layout.columns.stride {
    case 1: copyRows(from: source)
    default:
      let (rows, columns, width) = (layout.rows, layout.columns, layout.width)
      for row in 0..<rows.input {
        ColumnPhases.split(
          source + row &* columns.input, count: columns.input, readable: (rows.input &- row) &* columns.input,
          into: values + (rows.padBegin &+ row) &* width, padBegin: columns.padBegin, stride: columns.stride,
          phaseDistance: layout.phaseWidth)
      }
    }
  }

  /// Stride 1 (one phase): rows go sixteen floats at a time, a row's last partial vector blended
  /// with zeros (the padding it lands on), so there is no call per row; only where sixteen floats
  /// from the tail would read past the plane are the tail's floats copied one by one.
  private func copyRows(from source: UnsafePointer<Float>) {
    let (rows, columns, width) = (layout.rows, layout.columns, layout.width)
    let inputWidth = columns.input, whole = inputWidth / 16 * 16
    // All ones in the lanes of a row's last partial vector, zeros past it: an `and` of the bits
    // (a `replace(with:where:)` of a comparison's mask went lane by lane through the stack).
    var tail = SIMD16<UInt32>()
    for lane in 0..<(inputWidth &- whole) { tail[lane] = .max }
    var from = source, to = values + (rows.padBegin &* width &+ columns.padBegin)
    // Floats from `from` to the plane's end.
    var remaining = rows.input &* inputWidth
    for _ in 0..<rows.input {
      var x = 0
      while x < whole {
        UnsafeMutableRawPointer(to + x).storeBytes(
          of: UnsafeRawPointer(from + x).loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
        x &+= 16
      }
      if whole < inputWidth {
        if whole &+ 16 <= remaining {
          let last = UnsafeRawPointer(from + whole).loadUnaligned(as: SIMD16<UInt32>.self) & tail
          UnsafeMutableRawPointer(to + whole).storeBytes(of: last, as: SIMD16<UInt32>.self)
        } else {
          for x in whole..<inputWidth { to[x] = from[x] }
        }
      }
      from += inputWidth
      to += width
      remaining &-= inputWidth
    }
  }

  /// Frees the rows.
  func deallocate() {
    values.deallocate()
    taps.deallocate()
  }
}

/// The vectors ``DepthwiseConvolution`` computes in: eight lanes for output rows of at most
/// eight (MobileNetV3's 7×7 planes: 56 of 64 lanes used where sixteen-lane vectors used 56 of
/// 128 in as many instructions, and a 32-byte load a few floats into a row does not straddle two
/// cache lines, where each 64-byte one did), sixteen otherwise.
protocol DepthwiseLanes {
  associatedtype Vector: SIMD where Vector.Scalar == Float
  /// Lanes per vector.
  static var count: Int { get }
  /// The vector at `start`.
  static func load(_ start: UnsafePointer<Float>) -> Vector
}

/// Eight lanes.
enum EightLanes: DepthwiseLanes {
  static var count: Int { 8 }
  @inline(__always)
  static func load(_ start: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(start).loadUnaligned(as: SIMD8<Float>.self)
  }
}

/// Sixteen lanes.
enum SixteenLanes: DepthwiseLanes {
  static var count: Int { 16 }
  @inline(__always)
  static func load(_ start: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(start).loadUnaligned(as: SIMD16<Float>.self)
  }
}

/// The distance between the padded rows that neighbouring output rows start at, as a constant
/// where the layout allows one.
protocol DepthwiseRowStep {
  /// Floats, or nil for the layout's own ``DepthwisePlane/Layout/rowStep``.
  static var floats: Int? { get }
}

/// 64 floats.
enum RowStep64: DepthwiseRowStep { static var floats: Int? { 64 } }
/// 128 floats.
enum RowStep128: DepthwiseRowStep { static var floats: Int? { 128 } }
/// 256 floats.
enum RowStep256: DepthwiseRowStep { static var floats: Int? { 256 } }
/// The layout's.
enum RowStepOfLayout: DepthwiseRowStep { static var floats: Int? { nil } }
