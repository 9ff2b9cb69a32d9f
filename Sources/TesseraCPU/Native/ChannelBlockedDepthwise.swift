import CTesseraSIMD
import TesseraIR

/// Depthwise 2-D convolution with sixteen channels in each vector: each block of sixteen input
/// planes is interleaved (a 16×16 transpose in registers, `tessera_transpose16`) into one padded
/// plane of sixteen floats a position, the block's channels, so that every lane of every
/// multiply-add is an output whatever the plane's width and stride; eight positions of an output
/// row are summed at once in registers across every tap and stored the same way, sixteen floats a
/// position, and the block's finished sums are transposed back into its NCHW planes sixteen
/// positions at a time. Each output element adds its taps' products in the order (ky, kx), as
/// ``DepthwiseConvolution`` does. A bias per channel and a relu are applied to the sums in their
/// lanes; any other epilogue runs over each finished plane. Threads take blocks.
///
/// ``DepthwiseConvolution`` vectorises along a plane's rows instead: MobileNetV3's 7×7 planes
/// fill 7 of 8 lanes there and its stride-2 windows load even lanes, and on AMD EPYC Zen 5 its
/// depthwise layers took 0.35 ms of the model's 1.27 ms at one thread.
enum ChannelBlockedDepthwise {
  /// Channels per vector.
  static let lanes = 16
  /// Output positions of a row summed together.
  static let blockPositions = 8

  /// Whether it runs `shape` on `threads` threads: depthwise, built for 512-bit vectors (the
  /// transposes are a plain loop otherwise), with at least a block of channels for each thread,
  /// on output rows of at most 16, where ``DepthwiseConvolution`` leaves lanes empty or splits
  /// each tap's load across two cache lines. On MobileNetV3 at one thread (AMD EPYC Zen 5) these
  /// went 0.035 → 0.018 ms (288 channels, 14×14 to 7×7), 0.037 → 0.026 (576, 7×7), 0.028 →
  /// 0.020 (96, 28×28 to 14×14) and 0.039 → 0.034 (240, 5x5 on 14×14 at stride 1; that layer
  /// alone, with a relu: 0.044 → 0.031, 0.69× → 0.95× onnxruntime); on 28×28 outputs the
  /// interleaving made it 30–40% slower.
  static func applies(to shape: Convolution.Sizes, threads: Int) -> Bool {
    return tessera_vectors_are_512_bit() != 0 && DepthwiseConvolution.applies(to: shape)
      && shape.channels >= lanes * threads && shape.geometry.width.output <= 16
  }

  /// `output[N, C, OH, OW] = epilogue(depthwise conv2d(input, weights))`; `epilogue(n)` is image
  /// `n`'s epilogue over its `[C, OH·OW]` product (rows are channels).
  static func run(
    _ shape: Convolution.Sizes, input: UnsafePointer<Float>, weights: UnsafePointer<Float>,
    output: UnsafeMutablePointer<Float>, epilogue: (Int) -> GEMMEpilogue, pool: CPUThreadPool
  ) {
    let layout = Layout(shape.geometry)
    let channels = shape.channels, blocks = (channels + lanes - 1) / lanes
    let operands = ConvolutionOperands(
      input: input, weights: weights, output: output, epilogues: (0..<shape.batch).map(epilogue))
    // Units go block by block, each block's images together, so a thread interleaves a block's
    // taps once for all its images.
    pool.forEachChunk(of: blocks * shape.batch) { chunk in
      let buffers = Buffers(layout)
      defer { buffers.deallocate() }
      let inputEnd = operands.input + shape.batch * channels * layout.planeInput
      var tapsOfBlock: Int? = nil
      for unit in chunk {
        let (block, image) = unit.quotientAndRemainder(dividingBy: shape.batch)
        let first = block * lanes, count = Swift.min(lanes, channels - first)
        if tapsOfBlock != block {
          interleave(
            operands.weights + first * layout.taps, stride: layout.taps, rows: count, length: layout.taps,
            end: operands.weights + channels * layout.taps, into: buffers.taps, writable: layout.taps,
            scratch: buffers.scratch)
          tapsOfBlock = block
        }
        let planes = operands.input + (image * channels + first) * layout.planeInput
        for y in 0..<layout.rows.input {
          let rowStart = layout.inputStart + y * layout.width
          interleave(
            planes + y * layout.columns.input, stride: layout.planeInput, rows: count, length: layout.columns.input,
            end: inputEnd, into: buffers.plane + rowStart * lanes, writable: layout.width * layout.height - rowStart,
            scratch: buffers.scratch)
        }
        // A bias per channel and a relu are applied to the sums in their lanes. Other activations
        // run over the block's finished planes, one pass over all of them (a HardSwish in the
        // lanes made a 240-channel 5x5 layer on 14×14 slower than a pass over its planes, 0.029
        // against 0.026 ms; the bias and the HardSwish over each plane in turn took about 60% of a
        // 576-channel layer on 7×7 as long as its taps).
        let epilogue = operands.epilogues[image]
        let biasInLanes = epilogue.isRowBiasAndActivation
        let inLanes = biasInLanes && [.relu, .identity].contains(epilogue.activation)
        var bias = SIMD16<Float>()
        if let rowBias = epilogue.rowBias { for lane in 0..<count { bias[lane] = rowBias[first + lane] } }
        let outputs = operands.output + (image * channels + first) * layout.positions
        for row in 0..<layout.rows.output {
          for start in stride(from: 0, to: layout.columns.output, by: blockPositions) {
            eightPositions(
              layout, buffers, row: row, start: start, bias: bias,
              activation: inLanes ? epilogue.activation : biasInLanes ? .identity : nil)
          }
        }
        storeSums(layout, buffers, channels: count, into: outputs)
        if biasInLanes && !inLanes {
          epilogue.activation.apply(to: outputs, columns: 0..<(count * layout.positions))
        } else if !inLanes {
          let imageOutput = operands.output + image * channels * layout.positions
          for channel in first..<(first + count) {
            epilogue.apply(row: channel, columns: 0..<layout.positions, c: imageOutput, ldc: layout.positions)
          }
        }
      }
    }
  }

  /// The sizes of the padded, interleaved plane.
  struct Layout {
    let rows: WindowGeometry.Axis
    let columns: WindowGeometry.Axis
    /// Positions per padded row: the input's and its pads, and as far as the last block of
    /// eight outputs reaches.
    let width: Int
    /// Padded rows.
    let height: Int
    /// Taps of the window.
    var taps: Int { rows.kernel * columns.kernel }
    /// Positions per input plane.
    var planeInput: Int { rows.input * columns.input }
    /// Positions per output plane.
    var positions: Int { rows.output * columns.output }
    /// The padded position of the input's first.
    var inputStart: Int { rows.padBegin * width + columns.padBegin }

    init(_ geometry: WindowGeometry) {
      (rows, columns) = (geometry.height, geometry.width)
      let lastColumn = (columns.output + blockPositions - 1) / blockPositions * blockPositions - 1
      width = Swift.max(
        columns.padBegin + columns.input, lastColumn * columns.stride + (columns.kernel - 1) * columns.dilation + 1)
      height = Swift.max(
        rows.padBegin + rows.input, (rows.output - 1) * rows.stride + (rows.kernel - 1) * rows.dilation + 1)
    }
  }

  /// One thread's memory, sixteen floats per position, tap or row, 64-byte aligned and zeroed
  /// once: the padded plane (zero where nothing is copied in), the block's taps, two 16×16
  /// blocks of scratch and the block's output sums.
  struct Buffers {
    let plane: UnsafeMutablePointer<Float>
    let taps: UnsafeMutablePointer<Float>
    let scratch: UnsafeMutablePointer<Float>
    /// The block's output positions, sixteen floats (its channels) a position, with room for a
    /// last run of eight past the plane's end.
    let sums: UnsafeMutablePointer<Float>

    init(_ layout: Layout) {
      let (planeFloats, tapFloats) = (layout.width * layout.height * lanes, layout.taps * lanes)
      let sumFloats = (layout.positions + blockPositions) * lanes
      let total = planeFloats + tapFloats + 2 * lanes * lanes + sumFloats
      let floats = UnsafeMutableRawPointer.allocate(byteCount: total * 4, alignment: 64).bindMemory(
        to: Float.self, capacity: total)
      floats.initialize(repeating: 0, count: total)
      (plane, taps, scratch) = (floats, floats + planeFloats, floats + planeFloats + tapFloats)
      sums = scratch + 2 * lanes * lanes
    }

    /// Frees them.
    func deallocate() { plane.deallocate() }
  }

  /// `target[16·p + r] = source[r·stride + p]` for `p < length`, `r < rows` (zero in the lanes
  /// from `rows` on), sixteen positions a transpose; nothing at or past `end` is read. `scratch`
  /// holds 512 floats. Where `writable` positions from `target` on (at least `length`) leave room
  /// for a last transpose of sixteen, it is written in place and the positions past `length` it
  /// wrote are zeroed (a padded row's right padding, or the next row's start, copied after it);
  /// otherwise it goes through `scratch` (a copy per input row of a 14×14 plane, a `memmove`).
  static func interleave(
    _ source: UnsafePointer<Float>, stride: Int, rows: Int, length: Int, end: UnsafePointer<Float>,
    into target: UnsafeMutablePointer<Float>, writable: Int, scratch: UnsafeMutablePointer<Float>
  ) {
    let gathered = scratch, transposed = scratch + lanes * lanes
    for start in Swift.stride(from: 0, to: length, by: lanes) {
      let count = Swift.min(lanes, length - start)
      let inPlace = count == lanes || start + lanes <= writable
      let out = inPlace ? target + start * lanes : transposed
      if rows == lanes && source + ((lanes - 1) * stride + start + lanes) <= end {
        tessera_transpose16(source + start, stride, out, lanes)
      } else {
        for r in 0..<lanes {
          let row = gathered + r * lanes
          let from = source + (r * stride + start)
          let available = r < rows ? Swift.max(0, Swift.min(lanes, end - from)) : 0
          row.update(from: from, count: available)
          (row + available).update(repeating: 0, count: lanes - available)
        }
        tessera_transpose16(gathered, lanes, out, lanes)
      }
      if !inPlace {
        (target + start * lanes).update(from: transposed, count: count * lanes)
      } else if count < lanes {
        (target + (start + count) * lanes).update(repeating: 0, count: (lanes - count) * lanes)
      }
    }
  }

  /// Output positions `start ..< start + 8` of row `row` for the block's channels, summed in
  /// registers over every tap, with `activation`, when given, applied to the sums plus `bias`,
  /// then stored into the block's sums (``Buffers/sums``).
  @inline(__always)
  private static func eightPositions(
    _ layout: Layout, _ buffers: Buffers, row: Int, start: Int, bias: SIMD16<Float>, activation: GEMMActivation?
  ) {
    let (rows, columns, width) = (layout.rows, layout.columns, layout.width)
    let vectorBytes = lanes &* 4, step = columns.stride &* vectorBytes
    var sums = (
      SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(),
      SIMD16<Float>(), SIMD16<Float>()
    )
    var line = UnsafeRawPointer(buffers.plane + (row &* rows.stride &* width &+ start &* columns.stride) &* lanes)
    var weights = UnsafeRawPointer(buffers.taps)
    for _ in 0..<rows.kernel {
      var p = line
      for _ in 0..<columns.kernel {
        let w = weights.load(as: SIMD16<Float>.self)
        sums.0 = sums.0.addingProduct(w, p.load(as: SIMD16<Float>.self))
        sums.1 = sums.1.addingProduct(w, p.load(fromByteOffset: step, as: SIMD16<Float>.self))
        sums.2 = sums.2.addingProduct(w, p.load(fromByteOffset: 2 &* step, as: SIMD16<Float>.self))
        sums.3 = sums.3.addingProduct(w, p.load(fromByteOffset: 3 &* step, as: SIMD16<Float>.self))
        sums.4 = sums.4.addingProduct(w, p.load(fromByteOffset: 4 &* step, as: SIMD16<Float>.self))
        sums.5 = sums.5.addingProduct(w, p.load(fromByteOffset: 5 &* step, as: SIMD16<Float>.self))
        sums.6 = sums.6.addingProduct(w, p.load(fromByteOffset: 6 &* step, as: SIMD16<Float>.self))
        sums.7 = sums.7.addingProduct(w, p.load(fromByteOffset: 7 &* step, as: SIMD16<Float>.self))
        p += columns.dilation &* vectorBytes
        weights += vectorBytes
      }
      line += rows.dilation &* width &* vectorBytes
    }
    if let activation {
      sums = (
        activation.sixteen(sums.0 + bias), activation.sixteen(sums.1 + bias), activation.sixteen(sums.2 + bias),
        activation.sixteen(sums.3 + bias), activation.sixteen(sums.4 + bias), activation.sixteen(sums.5 + bias),
        activation.sixteen(sums.6 + bias), activation.sixteen(sums.7 + bias)
      )
    }
    // Position by position into the block's sums; positions past the row land on the next row's
    // first, stored after these (the sums have room for a run past the plane's end).
    let target = UnsafeMutableRawPointer(buffers.sums + (row &* columns.output &+ start) &* lanes)
    withUnsafeBytes(of: sums) { target.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
  }

  /// The block's sums (``Buffers/sums``, sixteen channels a position) into the first `channels`
  /// of its output planes (at `output`, `positions` floats apart), sixteen positions a transpose:
  /// one whole 16×16 transpose where a run of eight positions took one of its own, half of it
  /// unused, and sixteen stores of eight floats (a 240-channel 5x5 layer on 14×14, AMD EPYC Zen
  /// 5: 0.031 → 0.026 ms).
  private static func storeSums(
    _ layout: Layout, _ buffers: Buffers, channels: Int, into output: UnsafeMutablePointer<Float>
  ) {
    let positions = layout.positions, transposed = buffers.scratch
    for start in stride(from: 0, to: positions, by: lanes) {
      let count = Swift.min(lanes, positions - start)
      if channels == lanes && count == lanes {
        tessera_transpose16(buffers.sums + start * lanes, lanes, output + start, positions)
      } else {
        tessera_transpose16(buffers.sums + start * lanes, lanes, transposed, lanes)
        for channel in 0..<channels {
          (output + (channel * positions + start)).update(from: transposed + channel * lanes, count: count)
        }
      }
    }
  }
}
