import CTesseraSIMD
import TesseraIR

/// A convolution whose output rows are seven wide (ResNet's last stage, 7×7 outputs), as the
/// transposed product `Cᵀ[OH·OW × O] = X[OH·OW × C·kh·kw] · Wᵀ` on ``GEMMTile7x32``: each output
/// row's seven positions are one micro-panel of A (packed from the image through a copy with its
/// padding, ``pack(_:image:outputRows:into:)``), the constant weights are B, packed once into micro-panels
/// of 32 output channels (``PackedWeights``). On the im2col product the 49 positions filled two
/// 32-column tiles to 77%; here every tile is full. The threads take disjoint runs of (panel of
/// output channels, output row) pairs, panel by panel, then turn their part of `Cᵀ` into the
/// `[O, OH·OW]` product and run the epilogue over it: MobileNetV3's 576→96 on two threads,
/// three panels, runs ten and a half panel rows each, where whole panels split two and one.
enum OutputRowConvolution {
  /// The microkernel: its rows are an output row's positions.
  typealias Kernel = GEMMTile7x32

  /// The most output rows: A holds every position's taps at once (a 7×7 output of 512 channels
  /// 0.9 MB), where im2col packs a block at a time.
  static let maximumOutputRows = 16

  /// Depth of a block: a B micro-panel of this depth (32 KiB) stays in the level-1 cache while
  /// every output row's A micro-panel passes it.
  static let blockDepth = 256

  /// Whether `shape` runs here: its shape fits (``fits(_:)``), on 512-bit vectors (the tile's
  /// 14 accumulators would not fit 16 ymm registers).
  static func applies(to shape: Convolution.Sizes) -> Bool {
    SGEMM.Microkernel.preferred == .tile12x32 && fits(shape)
  }

  /// Whether `shape` is one group (not depthwise) with output rows of seven, at most
  /// ``maximumOutputRows`` of them, unit or stride-2 columns, unit dilations, not Winograd's; a
  /// 1x1 kernel only where its columns are the image itself (A is then packed straight from
  /// it).
  static func fits(_ shape: Convolution.Sizes) -> Bool {
    let (height, width) = (shape.geometry.height, shape.geometry.width)
    return shape.groups == 1 && width.output == Kernel.rows && height.output <= maximumOutputRows
      && (width.stride == 1 || width.stride == 2) && width.dilation == 1 && height.dilation == 1
      && (height.kernel * width.kernel > 1 || shape.columnsAreImage) && !WinogradConvolution.applies(to: shape)
  }

  /// `output[N, O, OH, OW] = epilogue(conv2d(input, weights))` with the weights packed in
  /// `weights`; `epilogue(n)` is image `n`'s epilogue over its `[O, OH·OW]` product.
  /// `inputScales` (a 1x1 kernel's only) multiply each input channel as A is packed.
  static func run(
    _ shape: Convolution.Sizes, input: UnsafePointer<Float>, weights: PackedWeights,
    output: UnsafeMutablePointer<Float>, inputScales: Convolution.ChannelScales? = nil,
    epilogue: (Int) -> GEMMEpilogue, pool: CPUThreadPool
  ) {
    let (height, width) = (shape.geometry.height, shape.geometry.width)
    let (depth, positions) = (shape.depth, shape.positions)
    // A: per output row, `depth` steps of 7 floats and one float that the last step's
    // eight-lane store writes past them.
    let panelStride = depth * Kernel.rows + 8
    let a = UnsafeMutablePointer<Float>.allocate(capacity: height.output * panelStride)
    let ldc = weights.panels * Kernel.columns
    let transposed = UnsafeMutablePointer<Float>.allocate(capacity: positions * ldc)
    defer {
      a.deallocate()
      transposed.deallocate()
    }
    for image in 0..<shape.batch {
      let source = SendableImage(
        pointer: input + image * shape.channels * height.input * width.input, a: a, scales: inputScales?.image(image))
      pool.forEachChunk(of: height.output) {
        pack(shape, image: source.pointer, outputRows: $0, into: source.a, scales: source.scales)
      }
      let product = Product(
        a: a, panelStride: panelStride, transposed: transposed, ldc: ldc, weights: weights,
        output: output + image * shape.outputs * positions, outputs: shape.outputs, outputRows: height.output,
        positions: positions, epilogue: epilogue(image))
      pool.forEachChunk(of: weights.panels * height.output) { product.run(units: $0) }
    }
  }

  /// Packs A's output rows `outputRows` of one image: for output row `p`, at
  /// `a[p · (depth · 7 + 8) + k · 7 + ox]`, the input of step `k = (c·kh + ky)·kw + kx` under
  /// position `(p, ox)`, zero in the padding. The input rows they read are first copied between
  /// zeros, so each step is one eight-lane load and store. `scales` (a 1x1 kernel's only)
  /// multiply each channel.
  static func pack(
    _ shape: Convolution.Sizes, image: UnsafePointer<Float>, outputRows: Range<Int>,
    into a: UnsafeMutablePointer<Float>,
    scales: UnsafePointer<Float>? = nil
  ) {
    if shape.columnsAreImage {
      packImage(shape, image: image, outputRows: outputRows, into: a, scales: scales)
      return
    }
    precondition(scales == nil, "input scales for a kernel larger than 1x1")
    let (height, width) = (shape.geometry.height, shape.geometry.width)
    // Padded rows: what the output rows' taps reach, and room for a 16-lane load from the last tap.
    let first = outputRows.lowerBound * height.stride
    let rows = (outputRows.count - 1) * height.stride + height.kernel
    let paddedWidth = Swift.max(width.padBegin + width.input, width.kernel - 1 + 8 * width.stride)
    let planeSize = rows * paddedWidth
    let padded = UnsafeMutablePointer<Float>.allocate(capacity: shape.channels * planeSize + 16)
    defer { padded.deallocate() }
    padded.initialize(repeating: 0, count: shape.channels * planeSize + 16)
    for channel in 0..<shape.channels {
      for row in 0..<rows {
        let y = first + row - height.padBegin
        guard y >= 0 && y < height.input else { continue }
        (padded + channel * planeSize + row * paddedWidth + width.padBegin).update(
          from: image + (channel * height.input + y) * width.input, count: width.input)
      }
    }
    let panelStride = shape.depth * Kernel.rows + 8
    for p in outputRows {
      var target = a + p * panelStride
      for channel in 0..<shape.channels {
        for ky in 0..<height.kernel {
          let line = UnsafePointer(padded + channel * planeSize + (p * height.stride - first + ky) * paddedWidth)
          for kx in 0..<width.kernel {
            let values =
              width.stride == 1
              ? UnsafeRawPointer(line + kx).loadUnaligned(as: SIMD8<Float>.self)
              : EvenLanes.load(line + kx, stride: 2)
            UnsafeMutableRawPointer(target).storeBytes(of: values, as: SIMD8<Float>.self)
            target += Kernel.rows
          }
        }
      }
    }
  }
}

extension OutputRowConvolution {
  /// ``pack(_:image:outputRows:into:)`` for a 1x1 kernel whose columns are the image: step `k`
  /// of output row `p` is channel `k`'s seven positions from `7p`, one eight-lane load each (a
  /// copy of every 7-float row between zeros cost more than the product saved), times
  /// `scales[k]` where there are scales.
  private static func packImage(
    _ shape: Convolution.Sizes, image: UnsafePointer<Float>, outputRows: Range<Int>,
    into a: UnsafeMutablePointer<Float>,
    scales: UnsafePointer<Float>?
  ) {
    let (positions, panelStride) = (shape.positions, shape.depth * Kernel.rows + 8)
    let end = image + shape.channels * positions
    for p in outputRows {
      var (source, target) = (image + p * Kernel.rows, a + p * panelStride)
      for channel in 0..<shape.channels {
        let factor = scales?[channel] ?? 1
        if source + 8 <= end {
          UnsafeMutableRawPointer(target).storeBytes(
            of: UnsafeRawPointer(source).loadUnaligned(as: SIMD8<Float>.self) * factor, as: SIMD8<Float>.self)
        } else {
          for lane in 0..<Kernel.rows { target[lane] = source[lane] * factor }
        }
        (source, target) = (source + positions, target + Kernel.rows)
      }
    }
  }

  /// The OIHW weights as B of the transposed product: micro-panels of 32 output channels, each
  /// holding for every step `k` of the depth 32 consecutive floats (zero past the last
  /// channel), 64-byte aligned. Packed once for constant weights (``ConstantCache``).
  /// `@unchecked Sendable`: written once in `init`, only read after.
  final class PackedWeights: @unchecked Sendable {
    let outputs: Int, depth: Int
    /// Micro-panels of 32 output channels.
    let panels: Int
    private let storage: UnsafeMutablePointer<Float>

    /// Packs `outputs` rows of `depth` floats.
    init(weights: UnsafePointer<Float>, outputs: Int, depth: Int) {
      (self.outputs, self.depth) = (outputs, depth)
      let width = Kernel.columns
      panels = (outputs + width - 1) / width
      let count = panels * depth * width
      storage = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64)
        .bindMemory(to: Float.self, capacity: count)
      storage.initialize(repeating: 0, count: count)
      for o in 0..<outputs {
        let (panel, lane) = o.quotientAndRemainder(dividingBy: width)
        let target = storage + panel * depth * width + lane
        for k in 0..<depth { target[k * width] = weights[o * depth + k] }
      }
    }

    /// Micro-panel `panel` from step `step` on.
    func panel(_ panel: Int, step: Int) -> UnsafePointer<SIMD16<Float>> {
      UnsafeRawPointer(storage + (panel * depth + step) * Kernel.columns).assumingMemoryBound(to: SIMD16<Float>.self)
    }

    deinit { storage.deallocate() }
  }
}

/// One image and its A, handed to the threads that pack disjoint output rows of A.
/// `@unchecked Sendable`: the image is only read.
private struct SendableImage: @unchecked Sendable {
  let pointer: UnsafePointer<Float>
  let a: UnsafeMutablePointer<Float>
  /// Its input scales, one per channel, or nil.
  let scales: UnsafePointer<Float>?
}

/// One image's transposed product and what follows it. `@unchecked Sendable`: threads read A
/// and the weights and write disjoint panels of output channels.
private struct Product: @unchecked Sendable {
  let a: UnsafeMutablePointer<Float>
  let panelStride: Int
  /// `Cᵀ`: a row of ``ldc`` output channels per position.
  let transposed: UnsafeMutablePointer<Float>
  let ldc: Int
  let weights: OutputRowConvolution.PackedWeights
  let output: UnsafeMutablePointer<Float>
  let outputs: Int, outputRows: Int, positions: Int
  let epilogue: GEMMEpilogue

  /// Units `units` of the product, unit `u` being output row `u % outputRows` of output channel
  /// panel `u / outputRows`.
  func run(units: Range<Int>) {
    var unit = units.lowerBound
    while unit < units.upperBound {
      let panel = unit / outputRows, first = unit - panel * outputRows
      let rows = first..<Swift.min(outputRows, units.upperBound - panel * outputRows)
      run(panel: panel, rows: rows)
      unit = panel * outputRows + rows.upperBound
    }
  }

  /// Output rows `rows` of output channel panel `panel`: their tiles of `Cᵀ` block by block of
  /// the depth, then written into the product, with the epilogue.
  private func run(panel: Int, rows: Range<Int>) {
    typealias Kernel = OutputRowConvolution.Kernel
    let (depth, width) = (weights.depth, Kernel.columns)
    for start in stride(from: 0, to: depth, by: OutputRowConvolution.blockDepth) {
      let steps = Swift.min(OutputRowConvolution.blockDepth, depth - start)
      let b = weights.panel(panel, step: start)
      // The weights come from memory: the first two rows' tiles ask for the next block's
      // micro-panel, half each.
      let next = UnsafeRawPointer(b + 2 * steps).assumingMemoryBound(to: Float.self)
      for row in rows {
        let (aRow, c) = (
          a + row * panelStride + start * Kernel.rows, transposed + row * Kernel.rows * ldc + panel * width
        )
        let lead = row - rows.lowerBound
        if lead < 2 {
          Kernel.tile(
            depth: steps, a: aRow, b: b, c: c, ldc: ldc, accumulate: start > 0,
            lookahead: PanelLookahead(next: next + lead * steps * 16, rows: 16))
        } else {
          Kernel.tile(depth: steps, a: aRow, b: b, c: c, ldc: ldc, accumulate: start > 0)
        }
      }
    }
    let channels = (panel * width)..<Swift.min(outputs, (panel + 1) * width)
    let span = (rows.lowerBound * Kernel.rows)..<(rows.upperBound * Kernel.rows)
    storeTransposed(channels: channels, positions: span)
    for o in channels { epilogue.apply(row: o, columns: span, c: output, ldc: positions) }
  }
}

extension Product {
  /// `output[o, position] = Cᵀ[position, o]` for the output channels `channels` and the
  /// positions `span`: blocks of sixteen channels by sixteen positions through the 16×16
  /// transpose, the rest one by one.
  func storeTransposed(channels: Range<Int>, positions span: Range<Int>) {
    let wholeEnd = span.lowerBound + span.count / 16 * 16
    var first = channels.lowerBound
    while first + 16 <= channels.upperBound {
      for start in stride(from: span.lowerBound, to: wholeEnd, by: 16) {
        tessera_transpose16(transposed + (start * ldc + first), ldc, output + (first * positions + start), positions)
      }
      first += 16
    }
    for o in channels {
      let target = output + o * positions
      for position in (o < first ? wholeEnd : span.lowerBound)..<span.upperBound {
        target[position] = transposed[position * ldc + o]
      }
    }
  }
}

extension ConstantCache where Value == OutputRowConvolution.PackedWeights {
  /// The kept packing of the constant `weights`, packed now when there is none; nil when the
  /// cache holds another address's or another shape's (the caller then packs for this run).
  func packed(_ weights: UnsafePointer<Float>, outputs: Int, depth: Int) -> OutputRowConvolution.PackedWeights? {
    value(for: weights, fits: { $0.outputs == outputs && $0.depth == depth }) {
      OutputRowConvolution.PackedWeights(weights: weights, outputs: outputs, depth: depth)
    }
  }
}
