import TesseraIR

/// `max_pool2d` and `avg_pool2d` over NCHW f32 planes, eight outputs of a row at a time: each
/// plane is copied into rows padded with −∞ (maximum) or zeros (mean) on both sides
/// (``PaddedPlane``), so every tap reads a whole vector (the loads specialised per stride, as
/// the depthwise convolution's are); window rows outside the input are skipped. A maximum takes
/// NaN wherever a tap is NaN; a mean adds its window's taps in order and divides by the count
/// ``WindowGeometry/Axis/count(window:includingPadding:)`` gives. Threads take whole planes.
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
    switch geometry.width.stride {
    case 1:
      run(UnitStride.self, reduction, planes: planes, geometry: geometry, input: input, output: output, pool: pool)
    case 2: run(EvenLanes.self, reduction, planes: planes, geometry: geometry, input: input, output: output, pool: pool)
    default:
      run(GatheredLanes.self, reduction, planes: planes, geometry: geometry, input: input, output: output, pool: pool)
    }
  }

  /// ``run(_:planes:geometry:input:output:pool:)`` with the row loads of `Loads`.
  private static func run<Loads: StridedLoads>(
    _ loads: Loads.Type, _ reduction: Reduction, planes: Int, geometry: WindowGeometry, input: UnsafePointer<Float>,
    output: UnsafeMutablePointer<Float>, pool: CPUThreadPool
  ) {
    let (rows, columns) = (geometry.height, geometry.width)
    let rowTaps = (0..<rows.output).map { rows.tapsInside(window: $0) }
    let isMaximum = reduction == .maximum
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
    let vectors = (columns.output + 7) / 8
    let shared = PoolingPointers(input: input, output: output)
    pool.forEachChunk(of: planes) { chunk in
      let padded = PaddedPlane(columns, rows: rows.input, vectors: vectors, padding: isMaximum ? -.infinity : 0)
      let scratch = UnsafeMutablePointer<Float>.allocate(capacity: vectors * 8)
      defer {
        padded.rows.deallocate()
        scratch.deallocate()
      }
      for plane in chunk {
        padded.fill(from: shared.input + plane * planeIn, columns)
        let target = shared.output + plane * planeOut
        for (oy, taps) in rowTaps.enumerated() {
          for vector in 0..<vectors {
            var line =
              UnsafePointer(padded.rows) + rows.position(window: oy, tap: taps.lowerBound) * padded.width
              + vector * 8 * columns.stride
            var best = SIMD8<Float>(repeating: -.infinity), sum = SIMD8<Float>()
            var sawNaN = SIMDMask<SIMD8<Int32>>(repeating: false)
            for _ in taps {
              for kx in 0..<columns.kernel {
                let value = Loads.load(line + kx * columns.dilation, stride: columns.stride)
                if isMaximum {
                  // One `vmaxps`; NaNs are remembered apart and put back.
                  best = VectorLanes.larger(value, best)
                  sawNaN .|= value .!= value
                } else {
                  sum += value
                }
              }
              line += rows.dilation * padded.width
            }
            if any(sawNaN) { best.replace(with: .nan, where: sawNaN) }
            UnsafeMutableRawPointer(scratch + 8 * vector).storeBytes(of: isMaximum ? best : sum, as: SIMD8<Float>.self)
          }
          let row = target + oy * columns.output
          if isMaximum {
            row.update(from: scratch, count: columns.output)
          } else {
            let divisorRow = oy * columns.output
            for ox in 0..<columns.output { row[ox] = scratch[ox] / divisors[divisorRow + ox] }
          }
        }
      }
    }
  }
}

/// The planes handed to worker threads. `@unchecked Sendable`: the input is only read and each
/// thread writes its own planes.
private struct PoolingPointers: @unchecked Sendable {
  let input: UnsafePointer<Float>
  let output: UnsafeMutablePointer<Float>
}
