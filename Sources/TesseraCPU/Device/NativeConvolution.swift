import TesseraCompiler
import TesseraIR

/// A `conv2d` group the native ``Convolution`` runs: f32 input, weights and result, and the rest
/// of the group an epilogue over the `[O, OH·OW]` product of each image
/// (``NativeMatmul/Epilogue``: a bias per output channel `[O, 1, 1]`, a relu, a residual of the
/// result's shape, before or after the relu), and a pointwise one's the `mul` scaling its input
/// per channel before it (``ConvolutionInputScale``). Other groups run their generated kernel.
struct NativeConvolution: Sendable {
  let input: ValueID, weights: ValueID
  /// The scale of each input channel (`[N or 1, C, 1, 1]`), applied as the input is read.
  let inputScale: ValueID?
  /// Floats between two images' scales: `C`, or 0 where all share one.
  let inputScaleStride: Int
  let shape: Convolution.Sizes
  let epilogue: NativeMatmul.Epilogue
  /// Where a Winograd convolution of constant weights keeps their transform between runs.
  let winogradKernels: ConstantCache<WinogradConvolution.TransformedKernels>?
  /// Where an SGEMM convolution of constant weights in one group keeps their packing as A
  /// (``packsWeights(_:)``).
  let packedWeights: ConstantCache<GEMMPackedA>?
  /// Where a convolution of constant weights that ``OutputRowConvolution`` runs keeps their
  /// packing between runs.
  let outputRowWeights: ConstantCache<OutputRowConvolution.PackedWeights>?

  /// Recognises `group`, or returns nil; `producers` maps each value to its defining node.
  init?(_ group: FusedGroup, in graph: Graph, producers: [ValueID: Int]) {
    let nodes = group.nodes.map { graph.nodes[$0] }
    let inside = Set(nodes.map(\.result))
    guard let convolution = nodes.first(where: { $0.kind == .conv2d }) else { return nil }
    let scaling = nodes.first { $0.result == convolution.operands[0] }.flatMap {
      ConvolutionInputScale($0, of: convolution, in: graph)
    }
    let read = scaling.map { [$0.input, $0.scale, convolution.operands[1]] } ?? convolution.operands
    guard !read.contains(where: inside.contains),
      ([convolution.result] + convolution.operands).allSatisfy({ graph.type(of: $0).dtype == .f32 })
    else { return nil }
    (input, weights) = (scaling?.input ?? convolution.operands[0], convolution.operands[1])
    let x = graph.type(of: input).shape.dims, w = graph.type(of: weights).shape.dims
    shape = Convolution.Sizes(
      batch: x[0], channels: x[1], outputs: w[0], groups: convolution.attributes.int("groups") ?? 1,
      geometry: WindowGeometry(verified: convolution.attributes, input: Shape(x), kernel: [w[2], w[3]]))
    inputScale = scaling?.scale
    inputScaleStride = scaling.map { graph.type(of: $0.scale).shape.dims[0] == 1 ? 0 : x[1] } ?? 0
    guard scaling == nil || Convolution.scalesInputs(shape),
      let epilogue = NativeMatmul.Epilogue(
        nodes.filter { $0.result != convolution.result && (scaling == nil || $0.result != convolution.operands[0]) },
        after: convolution.result, in: graph,
        product: .init(rows: shape.outputs, columns: shape.positions, axesAfterRows: 2))
    else { return nil }
    self.epilogue = epilogue
    let constantWeights = NativeMatmul.isConstant(weights, in: graph, producers: producers)
    winogradKernels = constantWeights && WinogradConvolution.applies(to: shape) ? .init() : nil
    packedWeights = constantWeights && Self.packsWeights(shape) ? .init() : nil
    outputRowWeights = constantWeights && OutputRowConvolution.applies(to: shape) ? .init() : nil
  }

  /// Whether the SGEMM convolution `shape` reads its constant weights packed once
  /// (``GEMMPackedA``): one group, not depthwise, Winograd's, a few channels' direct one or
  /// ``OutputRowConvolution``'s, more than one position.
  static func packsWeights(_ shape: Convolution.Sizes) -> Bool {
    shape.groups == 1 && !WinogradConvolution.applies(to: shape) && shape.positions > 1
      && !DepthwiseConvolution.applies(to: shape) && !FewChannelConvolution.applies(to: shape)
      && !OutputRowConvolution.applies(to: shape)
  }

  /// Runs it: `pointer(value)` gives each operand's memory, `output` the root's.
  func run(output: UnsafeMutableRawPointer, pointer: (ValueID) -> UnsafeMutableRawPointer, pool: CPUThreadPool) {
    let (rows, columns) = (shape.outputs, shape.positions)
    Convolution.run(
      shape, input: pointer(input).assumingMemoryBound(to: Float.self),
      weights: pointer(weights).assumingMemoryBound(to: Float.self),
      output: output.assumingMemoryBound(to: Float.self),
      inputScales: inputScale.map {
        Convolution.ChannelScales(
          values: pointer($0).assumingMemoryBound(to: Float.self), imageStride: inputScaleStride)
      },
      epilogue: { epilogue.resolved(batch: $0, m: rows, n: columns, pointer: pointer) }, pool: pool,
      winogradKernels: winogradKernels, packedWeights: packedWeights, outputRowWeights: outputRowWeights)
  }
}

/// A lone f32 `max_pool2d` or `avg_pool2d` group, run by ``Pooling``.
struct NativePooling: Sendable {
  let input: ValueID
  let reduction: Pooling.Reduction
  let planes: Int
  let geometry: WindowGeometry

  /// Recognises `group`, or returns nil.
  init?(_ group: FusedGroup, in graph: Graph) {
    guard group.nodes.count == 1 else { return nil }
    let node = graph.nodes[group.nodes[0]]
    guard node.kind == .maxPool2d || node.kind == .avgPool2d, graph.type(of: node.result).dtype == .f32 else {
      return nil
    }
    input = node.operands[0]
    reduction =
      node.kind == .maxPool2d
      ? .maximum : .mean(includingPadding: node.attributes.bool("count_include_pad") ?? false)
    let x = graph.type(of: input).shape
    planes = x.dims[0] * x.dims[1]
    geometry = WindowGeometry(verified: node.attributes, input: x, kernel: node.attributes.ints("kernel") ?? [])
  }

  /// Pools `pointer(input)` into `output`.
  func run(output: UnsafeMutableRawPointer, pointer: (ValueID) -> UnsafeMutableRawPointer, pool: CPUThreadPool) {
    Pooling.run(
      reduction, planes: planes, geometry: geometry, input: pointer(input).assumingMemoryBound(to: Float.self),
      output: output.assumingMemoryBound(to: Float.self), pool: pool)
  }
}
