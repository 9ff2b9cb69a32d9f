import TesseraIR

/// Depthwise 2-D convolution (`groups == channels == outputs`: output channel `c` reads input
/// channel `c` alone), run directly instead of as one-row SGEMM products: each output row starts
/// at zero and adds, per tap whose input row lies inside the image, the weight times the input
/// row's span of positions (eight output positions at a time with unit stride), then the
/// epilogue (bias per channel, activation, residual) runs over the finished row. Threads take whole
/// planes.
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
    let (rows, columns) = (shape.geometry.height, shape.geometry.width)
    let taps = rows.kernel * columns.kernel
    let spans = (0..<columns.kernel).map { outputSpan(columns, tap: $0) }
    let shared = DepthwisePointers(
      input: input, weights: weights, output: output, epilogues: (0..<shape.batch).map(epilogue))
    let (planeIn, positions, channels) = (rows.input * columns.input, shape.positions, shape.channels)
    pool.forEachChunk(of: shape.batch * channels) { chunk in
      for plane in chunk {
        let (image, channel) = plane.quotientAndRemainder(dividingBy: channels)
        let source = shared.input + plane * planeIn
        let kernel = shared.weights + channel * taps
        let imageOutput = shared.output + image * channels * positions
        for row in 0..<rows.output {
          let line = imageOutput + channel * positions + row * columns.output
          line.initialize(repeating: 0, count: columns.output)
          for ky in 0..<rows.kernel {
            let y = rows.position(window: row, tap: ky)
            guard (0..<rows.input).contains(y) else { continue }
            for (kx, span) in spans.enumerated() {
              accumulate(
                kernel[ky * columns.kernel + kx], source + y * columns.input + kx * columns.dilation - columns.padBegin,
                stride: columns.stride, into: line, span)
            }
          }
          let first = row * columns.output
          shared.epilogues[image].apply(
            row: channel, columns: first..<(first + columns.output), c: imageOutput, ldc: positions)
        }
      }
    }
  }

  /// `line[x] += weight · source[x · stride]` for `x` in `span`: eight at a time with unit stride.
  @inline(__always)
  private static func accumulate(
    _ weight: Float, _ source: UnsafePointer<Float>, stride: Int, into line: UnsafeMutablePointer<Float>,
    _ span: Range<Int>
  ) {
    var x = span.lowerBound
    if stride == 1 {
      let factor = SIMD8<Float>(repeating: weight)
      while x + 8 <= span.upperBound {
        let sum = UnsafeRawPointer(line + x).loadUnaligned(as: SIMD8<Float>.self)
          .addingProduct(factor, UnsafeRawPointer(source + x).loadUnaligned(as: SIMD8<Float>.self))
        UnsafeMutableRawPointer(line + x).storeBytes(of: sum, as: SIMD8<Float>.self)
        x += 8
      }
    }
    while x < span.upperBound {
      line[x] = line[x].addingProduct(weight, source[x * stride])
      x += 1
    }
  }

  /// The output positions whose tap `tap` lies inside the input along `axis`.
  private static func outputSpan(_ axis: WindowGeometry.Axis, tap: Int) -> Range<Int> {
    let inside = (0..<axis.output).filter { (0..<axis.input).contains(axis.position(window: $0, tap: tap)) }
    return (inside.first ?? 0)..<((inside.last ?? -1) + 1)
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
