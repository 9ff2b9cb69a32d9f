import TesseraIR

/// 2-D convolution (NCHW input, OIHW weights, groups) on the packed SGEMM: for each image and
/// channel group, `C[O/groups × OH·OW] = epilogue(W[O/groups × C/groups·kh·kw] · columns)`, where
/// the im2col `columns` are packed from the image straight into SGEMM's B micro-panels
/// (``ConvolutionColumns``), or, for a 1x1 kernel with unit strides and no padding, are the image
/// itself. The threads split each product as SGEMM splits any other. A depthwise convolution
/// (one channel per group) runs ``ChannelBlockedDepthwise`` instead on rows of at most sixteen
/// outputs, ``InPlaceDepthwise`` under a 3×3 window at stride 1 or 2, ``DepthwiseConvolution``
/// otherwise, and a 3×3 one with unit
/// strides and dilations on a large enough image ``WinogradConvolution``, and one over a few input
/// channels (an image network's stem) ``FewChannelConvolution``. One whose columns are
/// the image and one position long (squeeze-and-excitation's 1x1 convolutions on a pooled 1x1
/// image) is a matrix–vector product per image, run by ``SmallMatmul``: a 32-column SGEMM tile
/// would compute 31 columns for nothing, after packing the whole A. One of constant weights
/// whose output rows are seven wide runs ``OutputRowConvolution``.
enum Convolution {
  /// The sizes of one convolution.
  struct Sizes: Sendable, Hashable {
    /// Images, input channels, output channels, channel groups.
    var batch: Int, channels: Int, outputs: Int, groups: Int
    /// The window along the height and the width (input sizes, kernel, strides, dilations, pads).
    var geometry: WindowGeometry

    /// Output positions per channel: `OH·OW`.
    var positions: Int { geometry.height.output * geometry.width.output }
    /// The contraction: `C/groups · kh · kw`.
    var depth: Int { channels / groups * geometry.height.kernel * geometry.width.kernel }
    /// Whether the im2col matrix is the image itself.
    var columnsAreImage: Bool {
      [geometry.height, geometry.width].allSatisfy {
        $0.kernel == 1 && $0.stride == 1 && $0.padBegin == 0 && $0.padEnd == 0
      }
    }
  }

  /// A scale for each input channel of each image, applied as the input is read.
  /// `@unchecked Sendable`: only read.
  struct ChannelScales: @unchecked Sendable {
    /// Image 0's scales, one per channel.
    let values: UnsafePointer<Float>
    /// Floats between two images' scales (0: every image has image 0's).
    let imageStride: Int

    /// Image `image`'s scales.
    func image(_ image: Int) -> UnsafePointer<Float> { values + image * imageStride }
  }

  /// Whether `run` takes input scales for `shape`: a 1x1 convolution of one group whose columns
  /// are the image (the SGEMM's B rows or ``OutputRowConvolution``'s A, scaled as they are
  /// packed), more than one position.
  static func scalesInputs(_ shape: Sizes) -> Bool {
    shape.groups == 1 && shape.columnsAreImage && shape.positions > 1
  }

  /// `output[N, O, OH, OW] = epilogue(conv2d(input, weights))`; `epilogue(n)` is image `n`'s
  /// epilogue over its `[O, OH·OW]` product (rows are output channels). `winogradKernels`, for
  /// constant weights, keeps ``WinogradConvolution``'s transform of them from run to run, and
  /// `packedWeights`, for constant weights of one group, their packing as SGEMM's A
  /// (``GEMMPackedA``), and `outputRowWeights`, for constant weights of a convolution
  /// ``OutputRowConvolution`` takes, their packing as its B. `inputScales`, where
  /// ``scalesInputs(_:)``, multiply each input channel as it is read.
  static func run(
    _ shape: Sizes, input: UnsafePointer<Float>, weights: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
    inputScales: ChannelScales? = nil, epilogue: (Int) -> GEMMEpilogue, pool: CPUThreadPool,
    winogradKernels: ConstantCache<WinogradConvolution.TransformedKernels>? = nil,
    packedWeights: ConstantCache<GEMMPackedA>? = nil,
    outputRowWeights: ConstantCache<OutputRowConvolution.PackedWeights>? = nil
  ) {
    precondition(inputScales == nil || scalesInputs(shape), "input scales for a convolution that does not take them")
    if ChannelBlockedDepthwise.applies(to: shape, threads: pool.threads) {
      ChannelBlockedDepthwise.run(
        shape, input: input, weights: weights, output: output, epilogue: epilogue, pool: pool)
      return
    }
    if InPlaceDepthwise.applies(to: shape) {
      InPlaceDepthwise.run(shape, input: input, weights: weights, output: output, epilogue: epilogue, pool: pool)
      return
    }
    if DepthwiseConvolution.applies(to: shape) {
      DepthwiseConvolution.run(shape, input: input, weights: weights, output: output, epilogue: epilogue, pool: pool)
      return
    }
    if WinogradConvolution.applies(to: shape) {
      WinogradConvolution.run(
        shape, input: input, weights: weights, output: output, epilogue: epilogue, pool: pool, cache: winogradKernels)
      return
    }
    if FewChannelConvolution.applies(to: shape) {
      FewChannelConvolution.run(shape, input: input, weights: weights, output: output, epilogue: epilogue, pool: pool)
      return
    }
    if OutputRowConvolution.applies(to: shape),
      let packed = outputRowWeights?.packed(weights, outputs: shape.outputs, depth: shape.depth)
    {
      OutputRowConvolution.run(
        shape, input: input, weights: packed, output: output, inputScales: inputScales, epilogue: epilogue, pool: pool)
      return
    }
    if shape.columnsAreImage && shape.positions == 1 {
      matrixVector(shape, input: input, weights: weights, output: output, epilogue: epilogue, pool: pool)
      return
    }
    let (height, width) = (shape.geometry.height.input, shape.geometry.width.input)
    let groupOutputs = shape.outputs / shape.groups, groupChannels = shape.channels / shape.groups
    let (positions, depth) = (shape.positions, shape.depth)
    let packedA =
      shape.groups == 1
      ? packedWeights?.packed(weights, lda: depth, m: groupOutputs, k: depth, mr: SGEMM.Microkernel.preferred.rows)
      : nil
    for image in 0..<shape.batch {
      let imageEpilogue = epilogue(image)
      for group in 0..<shape.groups {
        let channels = input + (image * shape.channels + group * groupChannels) * height * width
        let a = weights + group * groupOutputs * depth
        let c = output + (image * shape.outputs + group * groupOutputs) * positions
        let groupEpilogue = imageEpilogue.startingAt(row: group * groupOutputs)
        if shape.columnsAreImage {
          SGEMM.multiply(
            m: groupOutputs, n: positions, k: depth, a: a, lda: depth,
            source: GEMMMatrixSource(
              b: channels, ldb: height * width, rowScales: inputScales?.image(image), readInPlace: true),
            c: c, ldc: positions,
            epilogue: groupEpilogue, pool: pool, packedA: packedA)
        } else {
          SGEMM.multiply(
            m: groupOutputs, n: positions, k: depth, a: a, lda: depth,
            source: ConvolutionColumns(image: channels, rows: shape.geometry.height, columns: shape.geometry.width),
            c: c, ldc: positions, epilogue: groupEpilogue, pool: pool, packedA: packedA)
        }
      }
    }
  }

  /// Each image's and group's `C[O/groups] = epilogue(W[O/groups × C/groups] · x)`, where `x` is
  /// the group's channels of the image's single position: a dot product per output channel, the
  /// threads taking disjoint channels when there is enough work.
  private static func matrixVector(
    _ shape: Sizes, input: UnsafePointer<Float>, weights: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
    epilogue: (Int) -> GEMMEpilogue, pool: CPUThreadPool
  ) {
    let groupOutputs = shape.outputs / shape.groups, depth = shape.depth
    let threads = groupOutputs * depth < 32 * 1024 ? CPUThreadPool.single : pool
    for image in 0..<shape.batch {
      let imageEpilogue = epilogue(image)
      for group in 0..<shape.groups {
        let operands = SmallMatmul.Batch(
          a: [input + image * shape.channels + group * depth], b: [weights + group * groupOutputs * depth],
          c: [output + image * shape.outputs + group * groupOutputs])
        let groupEpilogue = imageEpilogue.startingAt(row: group * groupOutputs)
        threads.forEachChunk(of: groupOutputs, grain: 16) { rows in
          SmallMatmul.columnMajorB(operands, columns: rows, m: 1, n: groupOutputs, k: depth, ldb: depth)
          for row in rows { groupEpilogue.apply(row: row, columns: 0..<1, c: operands.c[0], ldc: 1) }
        }
      }
    }
  }
}

/// A convolution kernel's operands handed to worker threads: the input, the weights (as the
/// kernel reads them), the output and each image's epilogue. `@unchecked Sendable`: the input and
/// weights are only read, each thread writes its own part of the output, and the epilogues carry
/// read-only pointers the caller keeps alive for the call.
struct ConvolutionOperands: @unchecked Sendable {
  let input: UnsafePointer<Float>
  let weights: UnsafePointer<Float>
  let output: UnsafeMutablePointer<Float>
  let epilogues: [GEMMEpilogue]
}
