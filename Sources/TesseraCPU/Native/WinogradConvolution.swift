import TesseraIR

/// A 3×3 convolution with unit strides and dilations (ResNet's, VGG's) by Winograd's minimal
/// filtering F(2×2, 3×3) (``WinogradTransforms``): each 2×2 block of outputs (a tile) is
/// computed from a 4×4 block of input with 16 multiplies per input channel instead of 36. Per
/// image and channel group, with `T` tiles:
///
/// 1. the kernels are transformed into 16 matrices `U[ξ]` of `O/g × C/g`;
/// 2. each thread takes a band of tile rows, transforms its input tiles into 16 matrices
///    `V[ξ]` of `C/g × tiles` (a channel's rows copied between zeros first, so every tile reads
///    whole vectors and the padding needs no test), and multiplies `M[ξ] = U[ξ] · V[ξ]` on the
///    packed SGEMM;
/// 3. the output transform turns `M` back into 2×2 tiles, written into the `[O, OH·OW]` product,
///    and the epilogue (bias, residual, activation) runs over the band's columns of each row.
///
/// The sums differ from the direct convolution's in order and in the transforms' additions
/// (their coefficients are 0, ±1 and ±½, so no rounding beyond an addition's): the error stays
/// within a few units of f32 rounding of the largest partial sums, which the tests bound against
/// the reference evaluator.
enum WinogradConvolution {
  /// Whether `shape` is a convolution this kernel runs, and worth running here: a 3×3 kernel,
  /// unit strides and dilations, not depthwise, and at least `minimumPositions` outputs per
  /// channel. On a 7×7 output 16 tiles do 64 outputs' work for 49 and the SGEMM's 32-column
  /// tiles are half empty: ResNet-18's three 512-channel 7×7 convolutions took 8–10 ms this way
  /// against 6.5 ms on im2col (Zen 5, one thread).
  static func applies(to shape: Convolution.Sizes) -> Bool {
    [shape.geometry.height, shape.geometry.width].allSatisfy { $0.kernel == 3 && $0.stride == 1 && $0.dilation == 1 }
      && !DepthwiseConvolution.applies(to: shape) && shape.positions >= minimumPositions
  }

  /// The fewest outputs per channel that take this path.
  static let minimumPositions = 100

  /// `output[N, O, OH, OW] = epilogue(conv2d(input, weights))`; `epilogue(n)` is image `n`'s
  /// epilogue over its `[O, OH·OW]` product (rows are output channels). With a `cache`, the
  /// weights are constant: their transform is made once and kept there.
  static func run(
    _ shape: Convolution.Sizes, input: UnsafePointer<Float>, weights: UnsafePointer<Float>,
    output: UnsafeMutablePointer<Float>, epilogue: (Int) -> GEMMEpilogue, pool: CPUThreadPool,
    cache: ConstantCache<TransformedKernels>? = nil
  ) {
    let (height, width) = (shape.geometry.height.input, shape.geometry.width.input)
    let groupOutputs = shape.outputs / shape.groups, groupChannels = shape.channels / shape.groups
    let transform = {
      TransformedKernels(
        weights: weights, outputs: shape.outputs, channels: groupChannels, groups: shape.groups, pool: pool)
    }
    let kernels = cache?.value(for: weights, make: transform) ?? transform()
    let tiles = TileGrid(shape.geometry)
    for image in 0..<shape.batch {
      let imageEpilogue = epilogue(image)
      for group in 0..<shape.groups {
        let band = TileBand(
          tiles: tiles, channels: groupChannels, outputs: groupOutputs,
          image: input + (image * shape.channels + group * groupChannels) * height * width,
          kernels: kernels.group(group),
          output: output + (image * shape.outputs + group * groupOutputs) * shape.positions,
          epilogue: imageEpilogue.startingAt(row: group * groupOutputs))
        let parts = Swift.min(pool.threads, tiles.rows)
        pool.run(parts: parts) { part in
          band.run(tileRows: (tiles.rows * part / parts)..<(tiles.rows * (part + 1) / parts))
        }
      }
    }
  }
}

extension WinogradConvolution {
  /// The 16 transformed kernel matrices of every group: `U[group][ξ]` is `O/g × C/g`,
  /// row-major; for constant weights kept between runs (``ConstantCache``). `@unchecked
  /// Sendable`: written once before the threads read it.
  final class TransformedKernels: @unchecked Sendable {
    private let storage: UnsafeMutablePointer<Float>
    let outputs: Int, channels: Int, groups: Int

    /// Transforms the OIHW 3×3 `weights` (threads take output channels).
    init(weights: UnsafePointer<Float>, outputs: Int, channels: Int, groups: Int, pool: CPUThreadPool) {
      (self.outputs, self.channels, self.groups) = (outputs, channels, groups)
      let storage = UnsafeMutablePointer<Float>.allocate(capacity: 16 * outputs * channels)
      self.storage = storage
      let groupOutputs = outputs / groups, matrix = groupOutputs * channels
      let (source, target) = (SendablePointer(weights), SendablePointer(UnsafePointer(storage)))
      pool.forEachChunk(of: outputs) { range in
        for o in range {
          let (group, row) = o.quotientAndRemainder(dividingBy: groupOutputs)
          let u = UnsafeMutablePointer(mutating: target.pointer) + group * 16 * matrix + row * channels
          for c in 0..<channels {
            WinogradTransforms.kernel(source.pointer + (o * channels + c) * 9, into: u + c, stride: matrix)
          }
        }
      }
    }

    /// Group `group`'s 16 matrices, `O/g · C/g` floats apart.
    func group(_ group: Int) -> UnsafePointer<Float> {
      UnsafePointer(storage + group * 16 * (outputs / groups) * channels)
    }

    deinit { storage.deallocate() }
  }
}

/// A pointer handed to worker threads that only read through it.
private struct SendablePointer: @unchecked Sendable {
  let pointer: UnsafePointer<Float>
  init(_ pointer: UnsafePointer<Float>) { self.pointer = pointer }
}

/// How the output plane splits into 2×2 tiles, and the input rows and columns a tile reads.
private struct TileGrid: Sendable {
  let geometry: WindowGeometry
  /// Tile rows and columns: `⌈OH/2⌉`, `⌈OW/2⌉`.
  let rows: Int, columns: Int
  /// Vectors of eight tiles per tile row.
  let vectors: Int
  /// Floats per padded input row: the leading padding, the row, and zeros to the last vector's
  /// reach (its 16-float loads start at `16·v` and `16·v + 2`).
  let paddedWidth: Int

  init(_ geometry: WindowGeometry) {
    self.geometry = geometry
    rows = (geometry.height.output + 1) / 2
    columns = (geometry.width.output + 1) / 2
    vectors = (columns + 7) / 8
    paddedWidth = Swift.max(geometry.width.padBegin + geometry.width.input, 16 * vectors + 2)
  }
}

/// One image's channel group: its input channels, transformed kernels, product and epilogue.
/// `@unchecked Sendable`: threads read the input and kernels and write disjoint tile rows.
private struct TileBand: @unchecked Sendable {
  let tiles: TileGrid
  let channels: Int, outputs: Int
  let image: UnsafePointer<Float>
  let kernels: UnsafePointer<Float>
  let output: UnsafeMutablePointer<Float>
  let epilogue: GEMMEpilogue

  /// Computes tile rows `tileRows` of every output channel, with the epilogue.
  func run(tileRows: Range<Int>) {
    guard !tileRows.isEmpty else { return }
    let count = tileRows.count * tiles.columns
    // Rows of V and M: the band's tiles, and room for the last vector's lanes past them.
    let stride = count + 8
    let transformed = UnsafeMutablePointer<Float>.allocate(capacity: 16 * (channels + outputs) * stride)
    let inputRows = 2 * tileRows.count + 2
    let padded = UnsafeMutablePointer<Float>.allocate(capacity: inputRows * tiles.paddedWidth)
    let outputRows = UnsafeMutablePointer<Float>.allocate(capacity: 2 * 16 * tiles.vectors)
    defer {
      transformed.deallocate()
      padded.deallocate()
      outputRows.deallocate()
    }
    padded.initialize(repeating: 0, count: inputRows * tiles.paddedWidth)
    let v = transformed, m = transformed + 16 * channels * stride
    for channel in 0..<channels {
      fill(padded, channel: channel, firstRow: 2 * tileRows.lowerBound, count: inputRows)
      transformInput(padded, tileRows: tileRows.count, into: v + channel * stride, matrixStride: channels * stride)
    }
    for xi in 0..<16 {
      SGEMM.multiply(
        m: outputs, n: count, k: channels, a: kernels + xi * outputs * channels, lda: channels,
        source: GEMMMatrixSource(b: UnsafePointer(v + xi * channels * stride), ldb: stride),
        c: m + xi * outputs * stride, ldc: stride, epilogue: .none, pool: .single, transposingA: true)
    }
    let outputHeight = tiles.geometry.height.output, outputWidth = tiles.geometry.width.output
    let positions = outputHeight * outputWidth
    let lastRow = Swift.min(2 * tileRows.upperBound, outputHeight)
    let columns = (2 * tileRows.lowerBound * outputWidth)..<(lastRow * outputWidth)
    for o in 0..<outputs {
      for row in tileRows {
        let products = UnsafePointer(m + o * stride + (row - tileRows.lowerBound) * tiles.columns)
        transformOutput(products, matrixStride: outputs * stride, into: outputRows)
        let top = output + o * positions + 2 * row * outputWidth
        top.update(from: outputRows, count: outputWidth)
        if 2 * row + 1 < outputHeight {
          (top + outputWidth).update(from: outputRows + 16 * tiles.vectors, count: outputWidth)
        }
      }
      epilogue.apply(row: o, columns: columns, c: output, ldc: positions)
    }
  }

  /// Copies input rows `firstRow − padTop ..< + count` of `channel` into `padded` after the
  /// leading padding; rows outside the image are zeros (the rest of each row stays zero).
  private func fill(_ padded: UnsafeMutablePointer<Float>, channel: Int, firstRow: Int, count: Int) {
    let (rows, columns) = (tiles.geometry.height, tiles.geometry.width)
    let plane = image + channel * rows.input * columns.input
    for index in 0..<count {
      let y = firstRow + index - rows.padBegin
      let target = padded + index * tiles.paddedWidth + columns.padBegin
      if y >= 0 && y < rows.input {
        target.update(from: plane + y * columns.input, count: columns.input)
      } else {
        target.update(repeating: 0, count: columns.input)
      }
    }
  }

  /// `V` of `tileRows` rows of tiles from the padded input rows, eight tiles at a time: tile
  /// `t` of the band goes to `v[ξ · matrixStride + t]`.
  private func transformInput(
    _ padded: UnsafePointer<Float>, tileRows: Int, into v: UnsafeMutablePointer<Float>, matrixStride: Int
  ) {
    let width = tiles.paddedWidth
    for row in 0..<tileRows {
      let top = padded + 2 * row * width
      for vector in 0..<tiles.vectors {
        let start = top + 16 * vector
        let target = v + row * tiles.columns + 8 * vector
        WinogradTransforms.input(
          { i in
            let low = UnsafeRawPointer(start + i * width).loadUnaligned(as: SIMD16<Float>.self)
            let high = UnsafeRawPointer(start + i * width + 2).loadUnaligned(as: SIMD16<Float>.self)
            return (low.evenHalf, low.oddHalf, high.evenHalf, high.oddHalf)
          },
          store: { xi, value in
            UnsafeMutableRawPointer(target + xi * matrixStride).storeBytes(of: value, as: SIMD8<Float>.self)
          })
      }
    }
  }

  /// One tile row of one output channel from its products (`m[ξ · matrixStride + tile]`): the
  /// top output row into `rows[0 ..< 16·vectors]`, the bottom one after it.
  private func transformOutput(
    _ m: UnsafePointer<Float>, matrixStride: Int, into rows: UnsafeMutablePointer<Float>
  ) {
    let bottom = rows + 16 * tiles.vectors
    for vector in 0..<tiles.vectors {
      let y = WinogradTransforms.output { xi in
        UnsafeRawPointer(m + xi * matrixStride + 8 * vector).loadUnaligned(as: SIMD8<Float>.self)
      }
      let (top, low) = (rows + 16 * vector, bottom + 16 * vector)
      for lane in 0..<8 {
        top[2 * lane] = y.0[lane]
        top[2 * lane + 1] = y.1[lane]
        low[2 * lane] = y.2[lane]
        low[2 * lane + 1] = y.3[lane]
      }
    }
  }
}
