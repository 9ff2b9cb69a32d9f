import TesseraCompiler
import TesseraIR

/// A matmul group the native SGEMM runs: the matmul's shapes and an epilogue recognised in the
/// fused chain after it (`+ bias[n]`, then one of relu/silu/gelu, then `+ residual` of the
/// result's shape). Groups outside that pattern, or not f32 (B may be f16), run their generated
/// kernel instead.
struct NativeMatmul: Sendable {
  let a: ValueID, b: ValueID
  let layout: MatmulLayout
  /// Batch index → (A batch, B batch) after numpy broadcasting.
  let batches: [(Int, Int)]
  let bias: ValueID?, residual: ValueID?
  let activation: GEMMActivation
  let halfWeights: Bool

  /// Recognises `group`, or returns nil.
  init?(_ group: FusedGroup, in graph: Graph) {
    let nodes = group.nodes.map { graph.nodes[$0] }
    guard let matmul = nodes.first, matmul.kind == .matmul else { return nil }
    let (typeA, typeB) = (graph.type(of: matmul.operands[0]), graph.type(of: matmul.operands[1]))
    let resultType = graph.type(of: matmul.result)
    guard typeA.dtype == .f32, typeB.dtype == .f32 || typeB.dtype == .f16, resultType.dtype == .f32 else { return nil }
    a = matmul.operands[0]
    b = matmul.operands[1]
    halfWeights = typeB.dtype == .f16
    let layout = MatmulLayout(typeA.shape, typeB.shape)
    self.layout = layout
    let batchRank = resultType.shape.rank - (layout.aIsVector ? 0 : 1) - (layout.bIsVector ? 0 : 1)
    let batch = Shape(Array(resultType.shape.dims.prefix(batchRank)))
    batches = (0..<batch.count).map { index in
      (
        Self.broadcastIndex(index, from: batch, to: layout.batchA),
        Self.broadcastIndex(index, from: batch, to: layout.batchB)
      )
    }
    var bias: ValueID?, residual: ValueID?, activation = GEMMActivation.identity
    var current = matmul.result
    for node in nodes.dropFirst() {
      guard node.operands.contains(current), graph.type(of: node.result) == resultType else { return nil }
      switch node.kind {
      case .add where residual == nil:
        let other = node.operands[0] == current ? node.operands[1] : node.operands[0]
        let otherType = graph.type(of: other)
        guard otherType.dtype == .f32 else { return nil }
        if otherType.shape == [layout.n] && bias == nil && activation == .identity && !layout.bIsVector {
          bias = other
        } else if otherType.shape == resultType.shape {
          residual = other
        } else {
          return nil
        }
      case .relu where activation == .identity && residual == nil: activation = .relu
      case .silu where activation == .identity && residual == nil: activation = .silu
      case .gelu where activation == .identity && residual == nil:
        activation = node.attributes.symbol("approximate") == "tanh" ? .geluTanh : .gelu
      default: return nil
      }
      current = node.result
    }
    self.bias = bias
    self.residual = residual
    self.activation = activation
  }

  /// The flat index in `operand` (batch dims right-aligned, size-1 dims broadcast) of batch
  /// element `index` of `batch`.
  private static func broadcastIndex(_ index: Int, from batch: Shape, to operand: Shape) -> Int {
    var rest = index, result = 0, step = 1
    for axis in (0..<batch.rank).reversed() {
      let coordinate = rest % batch.dims[axis]
      rest /= batch.dims[axis]
      let operandAxis = axis - (batch.rank - operand.rank)
      guard operandAxis >= 0 else { continue }
      if operand.dims[operandAxis] != 1 { result += coordinate * step }
      step *= operand.dims[operandAxis]
    }
    return result
  }

  /// Runs it: `pointer(value)` gives each operand's memory, `output` the root's.
  func run(output: UnsafeMutableRawPointer, pointer: (ValueID) -> UnsafeMutableRawPointer, pool: CPUThreadPool) {
    let (m, k, n) = (layout.m, layout.k, layout.n)
    let x = pointer(a).assumingMemoryBound(to: Float.self)
    let c = output.assumingMemoryBound(to: Float.self)
    let biasPointer = bias.map { UnsafePointer(pointer($0).assumingMemoryBound(to: Float.self)) }
    let residualPointer = residual.map { pointer($0).assumingMemoryBound(to: Float.self) }
    for (index, (batchA, batchB)) in batches.enumerated() {
      let epilogue = GEMMEpilogue(
        bias: biasPointer, activation: activation, residual: residualPointer.map { UnsafePointer($0 + index * m * n) },
        residualStride: n)
      let target = c + index * m * n
      if halfWeights {
        let w = pointer(b).assumingMemoryBound(to: Float16.self) + batchB * k * n
        SGEMM.multiply(
          m: m, n: n, k: k, a: x + batchA * m * k, lda: k, b: w, ldb: n, c: target, ldc: n, epilogue: epilogue,
          pool: pool)
      } else {
        let w = pointer(b).assumingMemoryBound(to: Float.self) + batchB * k * n
        SGEMM.multiply(
          m: m, n: n, k: k, a: x + batchA * m * k, lda: k, b: w, ldb: n, c: target, ldc: n, epilogue: epilogue,
          pool: pool)
      }
    }
  }
}
