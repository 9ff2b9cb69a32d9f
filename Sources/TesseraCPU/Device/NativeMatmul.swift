import TesseraCompiler
import TesseraIR

/// A matmul group the native kernels run: the matmul's shapes and the ``NativeMatmul/Epilogue``
/// recognised in the rest of the group. B is f32 or f16 (packed SGEMM), or the materialised `transpose(dequantize(w))`
/// / `dequantize(w)` of a rank-2 quantized `w` (then ``QuantizedMatmul`` reads `w` itself).
/// Groups outside that pattern, or not f32, run their generated kernel instead.
struct NativeMatmul: Sendable {
  /// Where B's values come from.
  enum Weights: Sendable, Equatable {
    case f32, f16
    /// `w` is `n × k` (`transposed`: B = `transpose(dequantize(w))`) or `k × n` (B = `dequantize(w)`).
    case quantized(DType, transposed: Bool)
  }

  let a: ValueID
  /// B's buffer: the quantized `w` for ``Weights/quantized(_:transposed:)``.
  let b: ValueID
  /// The graph value of B (the materialised dequantized matrix for quantized weights).
  let bValue: ValueID
  let layout: MatmulLayout
  /// Batch index → (A batch, B batch) after numpy broadcasting.
  let batches: [(Int, Int)]
  let epilogue: Epilogue
  let weights: Weights

  /// Recognises `group`, or returns nil; `producers` maps each value to its defining node.
  init?(_ group: FusedGroup, in graph: Graph, producers: [ValueID: Int]) {
    let nodes = group.nodes.map { graph.nodes[$0] }
    let inside = Set(nodes.map(\.result))
    guard let matmul = nodes.first(where: { $0.kind == .matmul }), !matmul.operands.contains(where: inside.contains)
    else { return nil }
    let (typeA, typeB) = (graph.type(of: matmul.operands[0]), graph.type(of: matmul.operands[1]))
    let resultType = graph.type(of: matmul.result)
    guard typeA.dtype == .f32, typeB.dtype == .f32 || typeB.dtype == .f16, resultType.dtype == .f32 else { return nil }
    let layout = MatmulLayout(typeA.shape, typeB.shape)
    a = matmul.operands[0]
    bValue = matmul.operands[1]
    if let (w, dtype, transposed) = Self.quantizedSource(of: bValue, in: graph, producers: producers),
      layout.batchB.count == 1, !layout.bIsVector, (transposed ? layout.k : layout.n) % 32 == 0
    {
      b = w
      weights = .quantized(dtype, transposed: transposed)
    } else {
      b = bValue
      weights = typeB.dtype == .f16 ? .f16 : .f32
    }
    self.layout = layout
    let batchRank = resultType.shape.rank - (layout.aIsVector ? 0 : 1) - (layout.bIsVector ? 0 : 1)
    let batch = Shape(Array(resultType.shape.dims.prefix(batchRank)))
    batches = (0..<batch.count).map { index in
      (
        Self.broadcastIndex(index, from: batch, to: layout.batchA),
        Self.broadcastIndex(index, from: batch, to: layout.batchB)
      )
    }
    guard let epilogue = Epilogue(nodes.filter { $0.result != matmul.result }, after: matmul.result, in: graph, layout)
    else { return nil }
    self.epilogue = epilogue
  }

  /// `w`, its dtype and whether B is its transpose, when `value` is `transpose(dequantize(w))` or
  /// `dequantize(w)` to f32 of a rank-2 quantized `w`.
  private static func quantizedSource(of value: ValueID, in graph: Graph, producers: [ValueID: Int]) -> (
    ValueID, DType, Bool
  )? {
    guard var node = producers[value].map({ graph.nodes[$0] }) else { return nil }
    var transposed = false
    if node.kind == .transpose {
      let perm = node.attributes.ints("perm") ?? [1, 0]
      guard perm == [1, 0], let producer = producers[node.operands[0]] else { return nil }
      node = graph.nodes[producer]
      transposed = true
    }
    guard node.kind == .dequantize, graph.type(of: node.result).dtype == .f32 else { return nil }
    let w = node.operands[0], type = graph.type(of: w)
    guard type.dtype.isQuantized, type.shape.rank == 2 else { return nil }
    return (w, type.dtype, transposed)
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

  /// Runs it: `pointer(value)` gives each operand's memory, `output` the root's; `tiles` the
  /// ``QuantizedTiles`` copy of `n × k` quantized weights when there is one; `precision` is the
  /// mode of matmuls against `n × k` quantized weights.
  func run(
    output: UnsafeMutableRawPointer, pointer: (ValueID) -> UnsafeMutableRawPointer, tiles: UnsafeRawPointer?,
    precision: QuantizedPrecision, pool: CPUThreadPool
  ) {
    let (m, k, n) = (layout.m, layout.k, layout.n)
    let x = pointer(a).assumingMemoryBound(to: Float.self)
    let c = output.assumingMemoryBound(to: Float.self)
    for (index, (batchA, batchB)) in batches.enumerated() {
      let epilogue = self.epilogue.resolved(batch: index, m: m, n: n, pointer: pointer)
      let target = c + index * m * n
      let rows = x + batchA * m * k
      switch weights {
      case .f16:
        let w = pointer(b).assumingMemoryBound(to: Float16.self) + batchB * k * n
        SGEMM.multiply(
          m: m, n: n, k: k, a: rows, lda: k, b: w, ldb: n, c: target, ldc: n, epilogue: epilogue, pool: pool)
      case .f32:
        let w = pointer(b).assumingMemoryBound(to: Float.self) + batchB * k * n
        SGEMM.multiply(
          m: m, n: n, k: k, a: rows, lda: k, b: w, ldb: n, c: target, ldc: n, epilogue: epilogue, pool: pool)
      case .quantized(let dtype, let transposed):
        let w = UnsafeRawPointer(pointer(b))
        if transposed {
          QuantizedMatmul.multiply(
            x: rows, m: m, k: k, weights: w, dtype: dtype, n: n, y: target, precision: precision, pool: pool,
            tiles: tiles)
        } else {
          QuantizedMatmul.multiply(x: rows, m: m, k: k, weightsByColumn: w, dtype: dtype, n: n, y: target, pool: pool)
        }
        if !epilogue.isIdentity {
          for i in 0..<m { epilogue.apply(row: i, columns: 0..<n, c: target, ldc: n) }
        }
      }
    }
  }
}
