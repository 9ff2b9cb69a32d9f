import TesseraIR

/// `max_pool2d` and `avg_pool2d` over NCHW f32 planes: each output element visits the taps of
/// its window that lie inside the input (a span per window row and column, found once, not a test
/// per tap); the mean divides
/// by the count ``WindowGeometry/Axis/count(window:includingPadding:)`` gives. Threads take
/// whole planes.
enum Pooling {
  /// What a window reduces to.
  enum Reduction: Sendable, Hashable {
    /// The largest tap (−∞ for a window with no tap inside the input).
    case maximum
    /// The mean, counting the padding's taps too when `includingPadding`.
    case mean(includingPadding: Bool)
  }

  /// Pools `planes` planes of `input` into `output`.
  static func run(
    _ reduction: Reduction, planes: Int, geometry: WindowGeometry, input: UnsafePointer<Float>,
    output: UnsafeMutablePointer<Float>, pool: CPUThreadPool
  ) {
    let (rows, columns) = (geometry.height, geometry.width)
    let rowSpans = (0..<rows.output).map { span(rows, window: $0) }
    let columnSpans = (0..<columns.output).map { span(columns, window: $0) }
    let divisors: [Float]
    if case .mean(let includingPadding) = reduction {
      divisors = (0..<rows.output).flatMap { oy in
        (0..<columns.output).map { ox in
          Float(
            rows.count(window: oy, includingPadding: includingPadding)
              * columns.count(window: ox, includingPadding: includingPadding))
        }
      }
    } else {
      divisors = []
    }
    let (rowStep, columnStep, inputWidth) = (rows.dilation * columns.input, columns.dilation, columns.input)
    let planeIn = rows.input * columns.input, planeOut = rows.output * columns.output
    let shared = PoolingPointers(input: input, output: output)
    let isMaximum = reduction == .maximum
    pool.forEachChunk(of: planes) { chunk in
      for plane in chunk {
        let source = shared.input + plane * planeIn
        var target = shared.output + plane * planeOut
        for (oy, (top, height)) in rowSpans.enumerated() {
          let corner = source + top * inputWidth
          for (ox, (left, width)) in columnSpans.enumerated() {
            var line = corner + left
            var best = -Float.infinity, sum: Float = 0
            for _ in 0..<height {
              for tap in 0..<width {
                let value = line[tap * columnStep]
                best = value > best || value.isNaN ? value : best
                sum += value
              }
              line += rowStep
            }
            target.pointee = isMaximum ? best : sum / divisors[oy * columns.output + ox]
            target += 1
          }
        }
      }
    }
  }

  /// The taps of window `window` that lie inside the input: the first one's input position and
  /// how many follow it, `dilation` apart.
  private static func span(_ axis: WindowGeometry.Axis, window: Int) -> (first: Int, count: Int) {
    let inside = (0..<axis.kernel).map { axis.position(window: window, tap: $0) }.filter {
      (0..<axis.input).contains($0)
    }
    return (inside.first ?? 0, inside.count)
  }
}

/// The planes handed to worker threads. `@unchecked Sendable`: the input is only read and each
/// thread writes its own planes.
private struct PoolingPointers: @unchecked Sendable {
  let input: UnsafePointer<Float>
  let output: UnsafeMutablePointer<Float>
}
