import TesseraCompiler
import TesseraIR

/// Binds graph ops to the hand-written kernels of this library: matmul (f32/f16, batched),
/// reductions and argmax over contiguous axes, softmax, rms_norm and layer_norm over the last
/// axis, rope, and row gathers. Ops, dtypes or layouts outside what a kernel handles get `nil`,
/// and the compiler generates a kernel instead.
public struct StandardKernelLibrary: KernelLibrary {
  /// The register blocking of f32/f16 matmuls, fitted to each result's size
  /// (``MatmulBlocking/fitted(m:n:)``).
  public var matmulBlocking: MatmulBlocking
  /// The lanes of the line reductions (reductions, argmax, softmax, rms_norm, layer_norm).
  public var reductions: ReductionConfig
  /// The tiling of the staged matmul, which products of at least half a block's rows and half
  /// its columns take (``TesseraKernels/stagedMatmul(_:dtype:epilogue:)``); `nil`: every matmul
  /// on the register-blocked kernel.
  public var stagedMatmul: MatmulTiling?

  /// Creates the library with the kernels' default configurations, or another matmul blocking
  /// or reduction width.
  public init(
    matmulBlocking: MatmulBlocking = MatmulBlocking(), reductions: ReductionConfig = ReductionConfig(),
    stagedMatmul: MatmulTiling? = nil
  ) {
    self.matmulBlocking = matmulBlocking
    self.reductions = reductions
    self.stagedMatmul = stagedMatmul
  }

  /// The library with `target`'s ``TargetCapabilities/reductionLanes`` where it sets them, and
  /// its ``TargetCapabilities/stagedMatmulTiling``.
  public func adapted(to target: TargetCapabilities) -> any KernelLibrary {
    var library = self
    if let lanes = target.reductionLanes { library.reductions = ReductionConfig(workgroupSize: lanes) }
    library.stagedMatmul = target.stagedMatmulTiling
    return library
  }

  /// A call computing `node`, or `nil`.
  public func call(for node: Node, in graph: Graph) -> KernelCall? {
    let operands = node.operands.map(graph.type(of:))
    let result = graph.type(of: node.result)
    let buffers = node.operands + [node.result]
    switch node.kind {
    case .matmul: return matmul(node, operands, result)
    case .reduceSum, .reduceMax, .reduceMin, .reduceMean, .argmax, .softmax:
      guard operands[0].dtype == .f32, let line = lineLayout(node, operands[0].shape) else { return nil }
      let kernel: Kernel?
      switch node.kind {
      case .argmax: kernel = try? TesseraKernels.argmax(config: reductions)
      case .softmax: kernel = try? TesseraKernels.softmax(config: reductions)
      default: kernel = try? TesseraKernels.reduce(ReductionOp(node.kind)!, config: reductions)
      }
      return kernel.map { KernelCall(kernel: $0, buffers: buffers, scalars: line) }
    case .rmsNorm, .layerNorm:
      return normalization(node, operands, buffers)
    case .rope:
      guard operands[0].dtype == .f32, operands[1].dtype == .i32 else { return nil }
      let dims = operands[0].shape.dims, dim = dims.last!
      let heads = dims.count >= 3 ? dims[dims.count - 2] : 1
      let seq = dims[TypeInference.ropeSequenceAxis(rank: dims.count)]
      guard let kernel = try? TesseraKernels.rope(neox: node.attributes.symbol("mode") == "neox") else { return nil }
      let scalars: [String: Double] = [
        "tokens": Double(operands[0].shape.count / dim / heads), "heads": Double(heads), "seq": Double(seq),
        "dim": Double(dim),
        "theta": node.attributes.double("theta") ?? 10000,
      ]
      return KernelCall(kernel: kernel, buffers: buffers, scalars: scalars)
    case .gather:
      guard operands[0].dtype == .f32, operands[0].shape.rank == 2, operands[1].dtype == .i32,
        (node.attributes.int("axis") ?? 0) == 0, let kernel = try? TesseraKernels.gatherRows(table: .f32)
      else { return nil }
      let scalars: [String: Double] = [
        "rows": Double(operands[0].shape.dims[0]), "width": Double(operands[0].shape.dims[1]),
        "count": Double(operands[1].shape.count),
      ]
      return KernelCall(kernel: kernel, buffers: buffers, scalars: scalars)
    default:
      return nil
    }
  }

  /// numpy matmul as `[batch][m][k] x [batch][k][n]`: each operand's batch dims must be the
  /// result's or absent/all ones (then it is shared: stride 0).
  private func matmul(_ node: Node, _ operands: [TensorType], _ result: TensorType) -> KernelCall? {
    let (a, b) = (operands[0], operands[1])
    guard a.dtype == b.dtype, a.dtype == .f32 || a.dtype == .f16, a.shape.rank >= 2, b.shape.rank >= 2 else {
      return nil
    }
    let layout = MatmulLayout(a.shape, b.shape)
    let batch = Shape(Array(result.shape.dims.dropLast(2)))
    func stride(_ operandBatch: Shape, _ matrix: Int) -> Int? {
      if operandBatch.count == 1 { return 0 }
      let padded = [Int](repeating: 1, count: batch.rank - operandBatch.rank) + operandBatch.dims
      return padded == batch.dims ? matrix : nil
    }
    guard let strideA = stride(layout.batchA, layout.m * layout.k),
      let strideB = stride(layout.batchB, layout.k * layout.n),
      let kernel = try? matmulKernel(m: layout.m, n: layout.n, dtype: a.dtype)
    else { return nil }
    let scalars: [String: Double] = [
      "m": Double(layout.m), "n": Double(layout.n), "k": Double(layout.k), "batch": Double(batch.count),
      "stride_a": Double(strideA), "stride_b": Double(strideB),
    ]
    return KernelCall(kernel: kernel, buffers: node.operands + [node.result], scalars: scalars)
  }

  /// The staged kernel for an `m x n` result of at least half a block each way where the library
  /// stages, else the register-blocked kernel fitted to it.
  private func matmulKernel(m: Int, n: Int, dtype: DType) throws(KIRError) -> Kernel {
    if let tiling = stagedMatmul, 2 * m >= tiling.tileRows, 2 * n >= tiling.tileColumns {
      return try TesseraKernels.stagedMatmul(tiling, dtype: dtype)
    }
    return try TesseraKernels.blockedMatmul(matmulBlocking.fitted(m: m, n: n), dtype: dtype)
  }

  /// rms_norm / layer_norm over the last axis with parameters of exactly `[size]` elements.
  private func normalization(_ node: Node, _ operands: [TensorType], _ buffers: [ValueID]) -> KernelCall? {
    let x = operands[0].shape
    let size = x.dims.last ?? 1
    guard operands.allSatisfy({ $0.dtype == .f32 }), x.normalizedAxis(node.attributes.int("axis") ?? -1) == x.rank - 1,
      operands.dropFirst().allSatisfy({ $0.shape.count == size && $0.shape.dims.last == size })
    else { return nil }
    let kernel =
      node.kind == .rmsNorm
      ? try? TesseraKernels.rmsNorm(config: reductions)
      : try? TesseraKernels.layerNorm(hasWeight: operands.count > 1, hasBias: operands.count > 2, config: reductions)
    guard let kernel else { return nil }
    let epsilon = node.attributes.double("epsilon") ?? (node.kind == .rmsNorm ? 1e-6 : 1e-5)
    return KernelCall(
      kernel: kernel, buffers: buffers,
      scalars: ["rows": Double(x.count / size), "size": Double(size), "epsilon": epsilon])
  }

  /// `outer`, `size`, `inner` when the node's axes are contiguous.
  private func lineLayout(_ node: Node, _ shape: Shape) -> [String: Double]? {
    let axes: [Int]
    if node.kind == .argmax || node.kind == .softmax {
      guard let axis = shape.normalizedAxis(node.attributes.int("axis") ?? -1) else { return nil }
      axes = [axis]
    } else {
      axes = (node.attributes.ints("axes")?.compactMap(shape.normalizedAxis) ?? Array(0..<shape.rank)).sorted()
    }
    guard !axes.isEmpty, axes.last! - axes.first! + 1 == axes.count else { return nil }
    let outer = shape.dims[..<axes.first!].reduce(1, *)
    let size = shape.dims[axes.first!...axes.last!].reduce(1, *)
    let inner = shape.dims[(axes.last! + 1)...].reduce(1, *)
    guard size >= 1 else { return nil }
    return ["outer": Double(outer), "size": Double(size), "inner": Double(inner)]
  }
}

extension ReductionOp {
  /// The library reduction for a graph reduction op.
  init?(_ kind: OpKind) {
    switch kind {
    case .reduceSum: self = .sum
    case .reduceMax: self = .max
    case .reduceMin: self = .min
    case .reduceMean: self = .mean
    default: return nil
    }
  }
}
