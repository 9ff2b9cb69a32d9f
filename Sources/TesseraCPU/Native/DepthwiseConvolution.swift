import TesseraIR

/// Depthwise 2-D convolution (`groups == channels == outputs`: output channel `c` reads input
/// channel `c` alone), run directly instead of as one-row SGEMM products. Each input plane is
/// first copied into rows padded with zeros on both sides (``PaddedPlane``), so every tap of a
/// row reads whole vectors: the output row is computed eight positions at a time, four such
/// vectors held in registers across all taps (the loads specialised for stride 1; stride 2
/// takes the even lanes of sixteen; other strides gather lanes), stored whole into a scratch
/// row and copied out; the epilogue (bias per channel, activation, residual) runs over each
/// finished plane. Each output element adds its taps' products in the order (ky, kx), skipping
/// rows outside the image, as an unpadded loop does (rows of fewer than four vectors in four
/// interleaved sums, ``OutputRow/oneVector(_:_:into:)``); the padding adds `w · 0`. Threads
/// take whole planes.
enum DepthwiseConvolution {
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
    switch shape.geometry.width.stride {
    case 1: run(UnitStride.self, shape, input: input, weights: weights, output: output, epilogue: epilogue, pool: pool)
    case 2: run(EvenLanes.self, shape, input: input, weights: weights, output: output, epilogue: epilogue, pool: pool)
    default:
      run(GatheredLanes.self, shape, input: input, weights: weights, output: output, epilogue: epilogue, pool: pool)
    }
  }

  /// ``run(_:input:weights:output:epilogue:pool:)`` with the row loads of `Loads`.
  private static func run<Loads: StridedLoads>(
    _ loads: Loads.Type, _ shape: Convolution.Sizes, input: UnsafePointer<Float>, weights: UnsafePointer<Float>,
    output: UnsafeMutablePointer<Float>, epilogue: (Int) -> GEMMEpilogue, pool: CPUThreadPool
  ) {
    let (rows, columns) = (shape.geometry.height, shape.geometry.width)
    let taps = rows.kernel * columns.kernel
    let shared = DepthwisePointers(
      input: input, weights: weights, output: output, epilogues: (0..<shape.batch).map(epilogue))
    let (planeIn, positions, channels) = (rows.input * columns.input, shape.positions, shape.channels)
    let vectors = (columns.output + 7) / 8
    let rowTaps = (0..<rows.output).map { rows.tapsInside(window: $0) }
    pool.forEachChunk(of: shape.batch * channels) { chunk in
      let padded = PaddedPlane(columns, rows: rows.input, vectors: vectors)
      let scratch = UnsafeMutablePointer<Float>.allocate(capacity: vectors * 8)
      defer {
        padded.rows.deallocate()
        scratch.deallocate()
      }
      for plane in chunk {
        let (image, channel) = plane.quotientAndRemainder(dividingBy: channels)
        padded.fill(from: shared.input + plane * planeIn, columns)
        let kernel = shared.weights + channel * taps
        let imageOutput = shared.output + image * channels * positions
        let epilogue = shared.epilogues[image]
        for row in 0..<rows.output {
          let window = OutputRow(row, taps: rowTaps[row], padded: padded, kernel: kernel, rows: rows, columns: columns)
          var first = 0
          while first + 4 <= vectors {
            window.fourVectors(Loads.self, from: first, into: scratch)
            first += 4
          }
          for vector in first..<vectors { window.oneVector(Loads.self, vector, into: scratch) }
          (imageOutput + channel * positions + row * columns.output).update(from: scratch, count: columns.output)
        }
        epilogue.apply(row: channel, columns: 0..<positions, c: imageOutput, ldc: positions)
      }
    }
  }
}

/// One output row of one plane: the taps of the kernel rows `taps` (those inside the image,
/// which are consecutive) over the padded input rows they read.
private struct OutputRow {
  /// The padded input row that the first tap inside the image reads, at output position 0.
  let firstRow: UnsafePointer<Float>
  /// The weights of that tap's kernel row.
  let firstWeights: UnsafePointer<Float>
  /// Kernel rows inside the image.
  let kernelRows: Int
  /// Floats from one kernel row's input row to the next (dilation × padded width).
  let rowStep: Int
  let columns: WindowGeometry.Axis

  /// Output row `window` of the plane in `padded` with weights `kernel`, `taps` its kernel rows
  /// inside the image (``WindowGeometry/Axis/tapsInside(window:)``).
  init(
    _ window: Int, taps: Range<Int>, padded: PaddedPlane, kernel: UnsafePointer<Float>, rows: WindowGeometry.Axis,
    columns: WindowGeometry.Axis
  ) {
    firstRow = UnsafePointer(padded.rows) + rows.position(window: window, tap: taps.lowerBound) * padded.width
    firstWeights = kernel + taps.lowerBound * columns.kernel
    kernelRows = taps.count
    rowStep = rows.dilation * padded.width
    self.columns = columns
  }

  /// Calls `body(weight, start)` for every tap inside the image in order (ky, kx), `start`
  /// where the tap's row of output vector `vector` begins, and `afterRow()` after each kernel
  /// row; pointers advance by adding steps.
  @inline(__always)
  func forEachTap(
    vector: Int, _ body: (SIMD8<Float>, UnsafePointer<Float>) -> Void, afterRow: () -> Void = {}
  ) {
    var row = firstRow + vector &* 8 &* columns.stride, weights = firstWeights
    for _ in 0..<kernelRows {
      var p = row
      for kx in 0..<columns.kernel {
        body(SIMD8(repeating: weights[kx]), p)
        p += columns.dilation
      }
      afterRow()
      row += rowStep
      weights += columns.kernel
    }
  }

  /// Output vectors `first ..< first + 4` into `scratch[8·first …]`, the four sums held in
  /// registers across every tap.
  @inline(__always)
  func fourVectors<Loads: StridedLoads>(_ loads: Loads.Type, from first: Int, into scratch: UnsafeMutablePointer<Float>)
  {
    var sums = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
    let stride = columns.stride, step = 8 &* columns.stride
    forEachTap(vector: first) { weight, p in
      sums.0 = sums.0.addingProduct(weight, Loads.load(p, stride: stride))
      sums.1 = sums.1.addingProduct(weight, Loads.load(p + step, stride: stride))
      sums.2 = sums.2.addingProduct(weight, Loads.load(p + 2 &* step, stride: stride))
      sums.3 = sums.3.addingProduct(weight, Loads.load(p + 3 &* step, stride: stride))
    }
    let out = UnsafeMutableRawPointer(scratch + 8 * first)
    out.storeBytes(of: sums.0, as: SIMD8<Float>.self)
    out.storeBytes(of: sums.1, toByteOffset: 32, as: SIMD8<Float>.self)
    out.storeBytes(of: sums.2, toByteOffset: 64, as: SIMD8<Float>.self)
    out.storeBytes(of: sums.3, toByteOffset: 96, as: SIMD8<Float>.self)
  }

  /// Output vector `vector` into `scratch[8·vector …]`. Kernel row `r` adds its taps into the
  /// `r mod 4`th of four sums (summed pairwise at the end), so the rows' chains of adds overlap
  /// where one would wait out every add's latency: rows of one or two vectors (7 × 7 and 14 × 14
  /// planes) go this way. (Rotating the sums per tap instead made the compiler move all four
  /// registers around every tap of a 5-tap row: half of this kernel's samples on Zen 5.)
  @inline(__always)
  func oneVector<Loads: StridedLoads>(_ loads: Loads.Type, _ vector: Int, into scratch: UnsafeMutablePointer<Float>) {
    var sums = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
    let stride = columns.stride
    forEachTap(
      vector: vector,
      { weight, p in sums.0 = sums.0.addingProduct(weight, Loads.load(p, stride: stride)) },
      afterRow: { sums = (sums.1, sums.2, sums.3, sums.0) })
    let sum = (sums.0 + sums.1) + (sums.2 + sums.3)
    UnsafeMutableRawPointer(scratch + 8 * vector).storeBytes(of: sum, as: SIMD8<Float>.self)
  }
}

/// The operands handed to worker threads. `@unchecked Sendable`: the input and weights are only
/// read, each thread writes its own planes, and the epilogues carry read-only pointers the caller
/// keeps alive for the call.
private struct DepthwisePointers: @unchecked Sendable {
  let input: UnsafePointer<Float>
  let weights: UnsafePointer<Float>
  let output: UnsafeMutablePointer<Float>
  let epilogues: [GEMMEpilogue]
}
