import TesseraIR

/// A 3×3 convolution with unit strides and dilations (ResNet's, VGG's) by Winograd's minimal
/// filtering F(2×2, 3×3) (``WinogradTransforms``): each 2×2 block of outputs (a tile) is
/// computed from a 4×4 block of input with 16 multiplies per input channel instead of 36. Per
/// image and channel group, with `T` tiles:
///
/// 1. the kernels are transformed into 16 matrices `U[ξ]` of `O/g × C/g`, packed as the SGEMM
///    microkernel's A (``TransformedKernels``);
/// 2. the tiles go a chunk of tile rows at a time (``WinogradTileBand``), as many as keep the
///    chunk's 16 matrices `V[ξ]` of `C/g × tiles` in half the level-2 cache: each input channel's
///    rows are copied between zeros (so every tile reads whole vectors and the padding needs no
///    test) and transformed eight tiles at a time into `V`, stored as the microkernel's B
///    micro-panels;
/// 3. each panel of output channels multiplies `M[ξ] = U[ξ] · V[ξ]` on the microkernel, turns
///    `M` back into 2×2 tiles in the `[O, OH·OW]` product, and runs the epilogue (bias,
///    residual, activation) over the chunk's columns of each channel.
///
/// Each thread takes a band of tile rows when there are at least four per thread; otherwise
/// (a 14×14 output has 7) the threads share each chunk: input channels for step 2, output
/// channel panels for step 3.
///
/// The sums differ from the direct convolution's in order and in the transforms' additions
/// (their coefficients are 0, ±1 and ±½, so no rounding beyond an addition's): the error stays
/// within a few units of f32 rounding of the largest partial sums, which the tests bound against
/// the reference evaluator.
enum WinogradConvolution {
  /// Whether `shape` is a convolution this kernel runs, and worth running here: a 3×3 kernel,
  /// unit strides and dilations, not depthwise, and at least `minimumPositions` outputs per
  /// channel. On a 7×7 output 16 tiles do 64 outputs' work for 49 and the microkernel's
  /// 32-column tiles are half empty: ResNet-18's three 512-channel 7×7 convolutions took 8–10 ms
  /// this way against 6.5 ms on im2col (Zen 5, one thread), and 4.6 ms against im2col's 4.7 with
  /// the kernels packed once; ``OutputRowConvolution`` takes them.
  static func applies(to shape: Convolution.Sizes) -> Bool {
    [shape.geometry.height, shape.geometry.width].allSatisfy { $0.kernel == 3 && $0.stride == 1 && $0.dilation == 1 }
      && !DepthwiseConvolution.applies(to: shape) && shape.positions >= minimumPositions
  }

  /// The fewest outputs per channel that take this path.
  static let minimumPositions = 100

  /// `output[N, O, OH, OW] = epilogue(conv2d(input, weights))`; `epilogue(n)` is image `n`'s
  /// epilogue over its `[O, OH·OW]` product (rows are output channels). With a `cache`, the
  /// weights are constant: their transform is made once and kept there. `caches` sizes the
  /// chunks of tiles (tests pass small ones to make many); tests run every `microkernel`.
  static func run(
    _ shape: Convolution.Sizes, input: UnsafePointer<Float>, weights: UnsafePointer<Float>,
    output: UnsafeMutablePointer<Float>, epilogue: (Int) -> GEMMEpilogue, pool: CPUThreadPool,
    cache: ConstantCache<TransformedKernels>? = nil, caches: CacheSizes = .host,
    microkernel: SGEMM.Microkernel = .preferred
  ) {
    switch microkernel {
    case .tile12x32:
      run(
        GEMMTile12x32.self, shape, input: input, weights: weights, output: output, epilogue: epilogue, pool: pool,
        cache: cache, caches: caches)
    case .tile6x16:
      run(
        GEMMTile6x16.self, shape, input: input, weights: weights, output: output, epilogue: epilogue, pool: pool,
        cache: cache, caches: caches)
    }
  }

  /// ``run(_:input:weights:output:epilogue:pool:cache:caches:microkernel:)`` on `Kernel`: with fewer than
  /// four tile rows per thread the bands would be unequal (3 and 4 of 7), so one band takes the
  /// whole pool.
  private static func run<Kernel: GEMMMicrokernel>(
    _ kernel: Kernel.Type, _ shape: Convolution.Sizes, input: UnsafePointer<Float>, weights: UnsafePointer<Float>,
    output: UnsafeMutablePointer<Float>, epilogue: (Int) -> GEMMEpilogue, pool: CPUThreadPool,
    cache: ConstantCache<TransformedKernels>?, caches: CacheSizes
  ) {
    let (height, width) = (shape.geometry.height.input, shape.geometry.width.input)
    let groupOutputs = shape.outputs / shape.groups, groupChannels = shape.channels / shape.groups
    let transform = {
      TransformedKernels(
        weights: weights, outputs: shape.outputs, channels: groupChannels, groups: shape.groups, rows: Kernel.rows,
        pool: pool)
    }
    let kernels =
      cache?.value(for: weights, fits: { $0.rows == Kernel.rows }, make: transform) ?? transform()
    let tiles = WinogradTileGrid(shape.geometry)
    let bands = pool.threads == 1 || tiles.rows >= 4 * pool.threads
    let parts = bands ? Swift.min(pool.threads, tiles.rows) : 1
    let chunkRows = WinogradTileBand<Kernel>.chunkRows(
      count: (tiles.rows + parts - 1) / parts, tiles: tiles, channels: groupChannels, budget: caches.level2 / 2)
    for image in 0..<shape.batch {
      let imageEpilogue = epilogue(image)
      for group in 0..<shape.groups {
        let band = WinogradTileBand<Kernel>(
          tiles: tiles, channels: groupChannels, outputs: groupOutputs,
          image: input + (image * shape.channels + group * groupChannels) * height * width, kernels: kernels,
          group: group, output: output + (image * shape.outputs + group * groupOutputs) * shape.positions,
          epilogue: imageEpilogue.startingAt(row: group * groupOutputs), chunkRows: chunkRows)
        if bands {
          pool.run(parts: parts) { part in
            band.run(tileRows: (tiles.rows * part / parts)..<(tiles.rows * (part + 1) / parts), pool: .single)
          }
        } else {
          band.run(tileRows: 0..<tiles.rows, pool: pool)
        }
      }
    }
  }
}
