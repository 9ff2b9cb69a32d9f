import TesseraIR

/// Depthwise 2-D convolution (`groups == channels == outputs`: output channel `c` reads input
/// channel `c` alone), run directly instead of as one-row SGEMM products. Each input plane is
/// first copied into rows padded with zeros on both sides (``PaddedPlane``), so every tap of a
/// row reads whole vectors: the output row is computed eight positions at a time, up to four
/// such vectors held in registers across all taps (stride 2 takes the even lanes of sixteen;
/// other strides gather lanes), then the epilogue (bias per channel, activation, residual) runs
/// over the finished row. Each output element adds its taps' products in the order (ky, kx),
/// skipping rows outside the image, as an unpadded loop does; the padding adds `w · 0`. Threads
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
    let (rows, columns) = (shape.geometry.height, shape.geometry.width)
    let taps = rows.kernel * columns.kernel
    let shared = DepthwisePointers(
      input: input, weights: weights, output: output, epilogues: (0..<shape.batch).map(epilogue))
    let (planeIn, positions, channels) = (rows.input * columns.input, shape.positions, shape.channels)
    let vectors = (columns.output + 7) / 8
    pool.forEachChunk(of: shape.batch * channels) { chunk in
      let padded = PaddedPlane(columns, rows: rows.input, vectors: vectors)
      defer { padded.rows.deallocate() }
      for plane in chunk {
        let (image, channel) = plane.quotientAndRemainder(dividingBy: channels)
        padded.fill(from: shared.input + plane * planeIn, columns)
        let kernel = shared.weights + channel * taps
        let imageOutput = shared.output + image * channels * positions
        for row in 0..<rows.output {
          let line = imageOutput + channel * positions + row * columns.output
          for first in stride(from: 0, to: vectors, by: 4) {
            var sums = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
            let count = Swift.min(4, vectors - first)
            for ky in 0..<rows.kernel {
              let y = rows.position(window: row, tap: ky)
              guard (0..<rows.input).contains(y) else { continue }
              for kx in 0..<columns.kernel {
                let weight = SIMD8(repeating: kernel[ky * columns.kernel + kx])
                let start = padded.rows + y * padded.width + kx * columns.dilation + first * 8 * columns.stride
                @inline(__always) func tap(_ vector: Int) -> SIMD8<Float> {
                  load(start + vector * 8 * columns.stride, stride: columns.stride)
                }
                sums.0 = sums.0.addingProduct(weight, tap(0))
                if count > 1 { sums.1 = sums.1.addingProduct(weight, tap(1)) }
                if count > 2 { sums.2 = sums.2.addingProduct(weight, tap(2)) }
                if count > 3 { sums.3 = sums.3.addingProduct(weight, tap(3)) }
              }
            }
            for vector in 0..<count {
              let value = vector == 0 ? sums.0 : vector == 1 ? sums.1 : vector == 2 ? sums.2 : sums.3
              let x = (first + vector) * 8
              for lane in 0..<Swift.min(8, columns.output - x) { line[x + lane] = value[lane] }
            }
          }
          let firstPosition = row * columns.output
          shared.epilogues[image].apply(
            row: channel, columns: firstPosition..<(firstPosition + columns.output), c: imageOutput, ldc: positions)
        }
      }
    }
  }

  /// Eight elements of a padded row from `start`, `stride` apart: one load with unit stride, the
  /// even lanes of sixteen with stride 2, lane by lane otherwise.
  @inline(__always)
  private static func load(_ start: UnsafePointer<Float>, stride: Int) -> SIMD8<Float> {
    let raw = UnsafeRawPointer(start)
    switch stride {
    case 1: return raw.loadUnaligned(as: SIMD8<Float>.self)
    case 2: return raw.loadUnaligned(as: SIMD16<Float>.self).evenHalf
    default:
      var lanes = SIMD8<Float>()
      for lane in 0..<8 { lanes[lane] = start[lane * stride] }
      return lanes
    }
  }
}

/// One input plane with each row copied between zeros: `padBegin` zeros before it, and after it
/// as many as the last output vector's taps reach (whole vectors of eight outputs, and sixteen
/// elements per stride-2 load).
private struct PaddedPlane {
  let rows: UnsafeMutablePointer<Float>
  let width: Int
  let count: Int

  /// Room for `count` rows of `axis`'s input, for `vectors` vectors of eight outputs.
  init(_ axis: WindowGeometry.Axis, rows count: Int, vectors: Int) {
    width = axis.padBegin + Swift.max(axis.input, vectors * 8 * axis.stride + (axis.kernel - 1) * axis.dilation + 16)
    self.count = count
    rows = .allocate(capacity: count * width)
    rows.initialize(repeating: 0, count: count * width)
  }

  /// Copies the plane at `source` (rows of `axis.input` floats) in, each row after `padBegin`
  /// zeros; the rest of each row stays zero.
  func fill(from source: UnsafePointer<Float>, _ axis: WindowGeometry.Axis) {
    for row in 0..<count {
      (rows + row * width + axis.padBegin).update(from: source + row * axis.input, count: axis.input)
    }
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
