import TesseraIR

/// `max_pool2d` and `avg_pool2d` over NCHW f32 planes: each output element visits the taps of
/// its window that lie inside the input (found per window, not tested per tap); the mean divides
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
    let rowTaps = (0..<rows.output).map { taps(rows, window: $0) }
    let columnTaps = (0..<columns.output).map { taps(columns, window: $0) }
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
    let planeIn = rows.input * columns.input, planeOut = rows.output * columns.output
    let shared = PoolingPointers(input: input, output: output)
    pool.forEachChunk(of: planes) { chunk in
      for plane in chunk {
        let source = shared.input + plane * planeIn
        var target = shared.output + plane * planeOut
        for oy in 0..<rows.output {
          for ox in 0..<columns.output {
            var best = -Float.infinity, sum: Float = 0
            for y in rowTaps[oy] {
              let line = source + y * columns.input
              for x in columnTaps[ox] {
                let value = line[x]
                if case .maximum = reduction {
                  best = value > best || value.isNaN ? value : best
                } else {
                  sum += value
                }
              }
            }
            target.pointee = reduction == .maximum ? best : sum / divisors[oy * columns.output + ox]
            target += 1
          }
        }
      }
    }
  }

  /// The input positions of window `window`'s taps that lie inside the input, in order.
  private static func taps(_ axis: WindowGeometry.Axis, window: Int) -> [Int] {
    (0..<axis.kernel).map { axis.position(window: window, tap: $0) }.filter { (0..<axis.input).contains($0) }
  }
}

/// The planes handed to worker threads. `@unchecked Sendable`: the input is only read and each
/// thread writes its own planes.
private struct PoolingPointers: @unchecked Sendable {
  let input: UnsafePointer<Float>
  let output: UnsafeMutablePointer<Float>
}
