import TesseraIR

/// A convolution of one group over a few input channels (an image network's stem: 3 channels
/// under a 3×3 window), run directly instead of as an im2col product, whose contraction
/// (`C·kh·kw`, 27 for the stem) is too short to repay packing its columns. The input rows one
/// output row reads are copied between zeros and split into their column phases
/// (``WindowRows``), so that even a strided window's taps are whole-vector loads; then sixteen
/// output channels at a time, sixteen output positions a vector, each tap is one load times
/// sixteen broadcast weights into sixteen sums held in registers across every tap
/// (``SixteenSums``), added in the order (c, ky, kx). The epilogue (bias per channel,
/// activation, residual) runs over each finished output row. Threads take output rows.
///
/// MobileNetV3's stem (3→16 channels, 3×3, stride 2, to 112×112, then HardSwish) took 0.15 ms
/// as im2col and SGEMM on AMD EPYC Zen 5 at one thread, and takes 0.10 ms this way (onnxruntime:
/// 0.12 ms). Loading the even lanes of thirty-two floats per tap instead of splitting the rows
/// into phases once compiled to gathers.
enum FewChannelConvolution {
  /// Output channels computed together, one vector of sums each.
  static let blockOutputs = 16
  /// The most input channels it takes.
  static let maximumChannels = 4

  /// Whether it runs `shape`: one group of at most ``maximumChannels`` input channels whose
  /// columns are not the image itself (a 1x1 convolution with unit strides is one SGEMM product).
  static func applies(to shape: Convolution.Sizes) -> Bool {
    shape.groups == 1 && shape.channels <= maximumChannels && !shape.columnsAreImage
  }

  /// `output[N, O, OH, OW] = epilogue(conv2d(input, weights))`; `epilogue(n)` is image `n`'s
  /// epilogue over its `[O, OH·OW]` product (rows are output channels).
  static func run(
    _ shape: Convolution.Sizes, input: UnsafePointer<Float>, weights: UnsafePointer<Float>,
    output: UnsafeMutablePointer<Float>, epilogue: (Int) -> GEMMEpilogue, pool: CPUThreadPool
  ) {
    let layout = WindowRows.Layout(shape)
    let (rows, columns) = (layout.rows, layout.columns)
    let (taps, positions, outputs) = (shape.depth, shape.positions, shape.outputs)
    let blocks = (outputs + blockOutputs - 1) / blockOutputs
    let packed = packedWeights(weights, outputs: outputs, taps: taps, blocks: blocks)
    defer { packed.deallocate() }
    let operands = ConvolutionOperands(
      input: input, weights: UnsafePointer(packed), output: output, epilogues: (0..<shape.batch).map(epilogue))
    let imageInput = shape.channels * rows.input * columns.input
    let vectors = (columns.output + 15) / 16
    pool.forEachChunk(of: shape.batch * rows.output) { chunk in
      let window = WindowRows(layout)
      defer { window.deallocate() }
      for unit in chunk {
        let (image, row) = unit.quotientAndRemainder(dividingBy: rows.output)
        window.fill(from: operands.input + image * imageInput, outputRow: row)
        let imageOutput = operands.output + image * outputs * positions
        let rowOutputs = row * columns.output..<(row + 1) * columns.output
        for block in 0..<blocks {
          let first = block * blockOutputs, count = Swift.min(blockOutputs, outputs - first)
          let blockWeights = operands.weights + block * taps * blockOutputs
          for vector in 0..<vectors {
            let start = vector * 16
            let sums = SixteenSums(window, weights: blockWeights, start: start)
            sums.store(
              into: imageOutput + first * positions + rowOutputs.lowerBound + start, channelStride: positions,
              channels: count, lanes: Swift.min(16, columns.output - start))
          }
          for channel in first..<first + count {
            operands.epilogues[image].apply(row: channel, columns: rowOutputs, c: imageOutput, ldc: positions)
          }
        }
      }
    }
  }

  /// The weights `[O, C·kh·kw]` laid out tap by tap, sixteen output channels a block (zeros past
  /// the last channel): the block's tap `t` for channel `first + o` is at `(block·taps + t)·16 + o`.
  private static func packedWeights(
    _ weights: UnsafePointer<Float>, outputs: Int, taps: Int, blocks: Int
  ) -> UnsafeMutablePointer<Float> {
    let packed = UnsafeMutablePointer<Float>.allocate(capacity: blocks * taps * blockOutputs)
    for block in 0..<blocks {
      for tap in 0..<taps {
        for o in 0..<blockOutputs {
          let channel = block * blockOutputs + o
          packed[(block * taps + tap) * blockOutputs + o] = channel < outputs ? weights[channel * taps + tap] : 0
        }
      }
    }
    return packed
  }
}

/// The input rows that one output row's windows read, every channel's, each copied between
/// zeros and split into its column phases (``ColumnPhases``): row `c·kh + ky` holds channel `c`'s
/// input row under tap `ky` (zeros where that row is padding), each phase ``Layout/phaseWidth``
/// floats.
/// Output `ox`'s tap `kx` reads padded column `stride·ox + dilation·kx`, so sixteen neighbouring
/// outputs read sixteen neighbouring floats of one phase, whatever the stride.
struct WindowRows {
  /// The rows' sizes.
  struct Layout {
    let rows: WindowGeometry.Axis
    let columns: WindowGeometry.Axis
    let channels: Int
    /// Floats per phase: as many as the input's padded columns need and the last vector of
    /// sixteen outputs reaches.
    let phaseWidth: Int
    /// Floats per row: every phase.
    var width: Int { phaseWidth * columns.stride }

    /// The layout for `shape`'s windows.
    init(_ shape: Convolution.Sizes) {
      (rows, columns, channels) = (shape.geometry.height, shape.geometry.width, shape.channels)
      let vectors = (columns.output + 15) / 16, stride = columns.stride
      phaseWidth = Swift.max(
        (columns.padBegin + columns.input + stride - 1) / stride,
        vectors * 16 + (columns.kernel - 1) * columns.dilation / stride)
    }

    /// Where tap `kx` of output 0 lies in a row.
    func offset(tap kx: Int) -> Int {
      let column = kx * columns.dilation
      return column % columns.stride * phaseWidth + column / columns.stride
    }
  }

  let layout: Layout
  /// `channels · kh` rows, `layout.width` floats apart.
  let values: UnsafeMutablePointer<Float>
  /// ``Layout/offset(tap:)`` of each tap `kx`.
  let offsets: UnsafeMutablePointer<Int>

  /// Zeros for the rows of `layout`.
  init(_ layout: Layout) {
    self.layout = layout
    // Sixteen more for the zeros ``ColumnPhases`` stores past the last row's floats.
    let count = layout.channels * layout.rows.kernel * layout.width + 16
    values = .allocate(capacity: count)
    values.initialize(repeating: 0, count: count)
    offsets = .allocate(capacity: layout.columns.kernel)
    for kx in 0..<layout.columns.kernel { offsets[kx] = layout.offset(tap: kx) }
  }

  /// Copies in the rows that output row `outputRow` reads from the image at `image`
  /// (`[C, H, W]`), in increasing address order; a row in the padding is zeros. The padding
  /// columns keep their zeros.
  func fill(from image: UnsafePointer<Float>, outputRow: Int) {
    let (rows, columns, width) = (layout.rows, layout.columns, layout.width)
    for channel in 0..<layout.channels {
      for ky in 0..<rows.kernel {
        let target = values + (channel * rows.kernel + ky) * width
        let y = rows.position(window: outputRow, tap: ky)
        if y >= 0 && y < rows.input {
          let start = (channel * rows.input + y) * columns.input
          ColumnPhases.split(
            image + start, count: columns.input, readable: layout.channels * rows.input * columns.input - start,
            into: target, padBegin: columns.padBegin, stride: columns.stride, phaseDistance: layout.phaseWidth)
        } else {
          target.update(repeating: 0, count: width)
        }
      }
    }
  }

  /// Frees the rows.
  func deallocate() {
    values.deallocate()
    offsets.deallocate()
  }
}

/// Sixteen vectors of sums, one per output channel of a block, over sixteen output positions.
struct SixteenSums {
  var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>(), s3 = SIMD16<Float>()
  var s4 = SIMD16<Float>(), s5 = SIMD16<Float>(), s6 = SIMD16<Float>(), s7 = SIMD16<Float>()
  var s8 = SIMD16<Float>(), s9 = SIMD16<Float>(), s10 = SIMD16<Float>(), s11 = SIMD16<Float>()
  var s12 = SIMD16<Float>(), s13 = SIMD16<Float>(), s14 = SIMD16<Float>(), s15 = SIMD16<Float>()

  /// The sums of output positions `start ..< start + 16` of the row `window` holds, over every
  /// tap, with sixteen weights a tap from `weights` (``FewChannelConvolution``'s packing).
  @inline(__always)
  init(_ window: WindowRows, weights: UnsafePointer<Float>, start: Int) {
    let layout = window.layout
    let (kh, kw, width) = (layout.rows.kernel, layout.columns.kernel, layout.width)
    var w = weights
    var row = UnsafePointer(window.values) + start
    for _ in 0..<layout.channels &* kh {
      for kx in 0..<kw {
        add(UnsafeRawPointer(row + window.offsets[kx]).loadUnaligned(as: SIMD16<Float>.self), times: w)
        w += 16
      }
      row += width
    }
  }

  /// Adds `x` times the broadcast `w[i]` to sum `i`.
  @inline(__always)
  private mutating func add(_ x: SIMD16<Float>, times w: UnsafePointer<Float>) {
    s0 = s0.addingProduct(x, SIMD16(repeating: w[0]))
    s1 = s1.addingProduct(x, SIMD16(repeating: w[1]))
    s2 = s2.addingProduct(x, SIMD16(repeating: w[2]))
    s3 = s3.addingProduct(x, SIMD16(repeating: w[3]))
    s4 = s4.addingProduct(x, SIMD16(repeating: w[4]))
    s5 = s5.addingProduct(x, SIMD16(repeating: w[5]))
    s6 = s6.addingProduct(x, SIMD16(repeating: w[6]))
    s7 = s7.addingProduct(x, SIMD16(repeating: w[7]))
    s8 = s8.addingProduct(x, SIMD16(repeating: w[8]))
    s9 = s9.addingProduct(x, SIMD16(repeating: w[9]))
    s10 = s10.addingProduct(x, SIMD16(repeating: w[10]))
    s11 = s11.addingProduct(x, SIMD16(repeating: w[11]))
    s12 = s12.addingProduct(x, SIMD16(repeating: w[12]))
    s13 = s13.addingProduct(x, SIMD16(repeating: w[13]))
    s14 = s14.addingProduct(x, SIMD16(repeating: w[14]))
    s15 = s15.addingProduct(x, SIMD16(repeating: w[15]))
  }

  /// Stores the first `lanes` lanes of the first `channels` sums, sum `i` at
  /// `output + i·channelStride`.
  @inline(__always)
  func store(into output: UnsafeMutablePointer<Float>, channelStride: Int, channels: Int, lanes: Int) {
    withUnsafeBytes(of: self) { sums in
      for channel in 0..<channels {
        let sum = sums.loadUnaligned(
          fromByteOffset: channel * MemoryLayout<SIMD16<Float>>.stride, as: SIMD16<Float>.self)
        let target = output + channel * channelStride
        if lanes == 16 {
          UnsafeMutableRawPointer(target).storeBytes(of: sum, as: SIMD16<Float>.self)
        } else {
          for lane in 0..<lanes { target[lane] = sum[lane] }
        }
      }
    }
  }
}
