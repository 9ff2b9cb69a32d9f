import TesseraCompiler
import TesseraIR

/// A matmul group the native kernels run: the matmul's shapes and the ``NativeMatmul/Epilogue``
/// recognised in the rest of the group. B is f32 or f16 (packed SGEMM), the materialised `transpose(dequantize(w))`
/// / `dequantize(w)` of a rank-2 quantized `w` (then ``QuantizedMatmul`` reads `w` itself), or
/// a movement chain (reshape / transpose / slice / broadcast) over an f32 graph input that is a
/// strided view with a unit stride along B's rows or columns (then B is read in place: the KV
/// cache in decode attention). Groups outside that pattern, or not f32, run their generated
/// kernel instead.
struct NativeMatmul: Sendable {
  /// Where B's values come from.
  enum Weights: Sendable, Equatable {
    case f32, f16
    /// `w` is `n × k` (`transposed`: B = `transpose(dequantize(w))`, or `transpose(cast(w))` of
    /// f16/bf16 `w`) or `k × n` (B = `dequantize(w)`).
    case quantized(DType, transposed: Bool)
    /// B is a view of the f32 input `b`: `B[p, j]` of batch `i` at
    /// `batchOffsets[i] + p · rowStride + j · columnStride` elements, one of the strides 1.
    case f32View(rowStride: Int, columnStride: Int, batchOffsets: [Int])
  }

  let a: ValueID
  /// B's buffer: the quantized `w` for ``Weights/quantized(_:transposed:)``, the viewed input
  /// for ``Weights/f32View(rowStride:columnStride:batchOffsets:)``.
  let b: ValueID
  /// The graph value of B (the materialised dequantized matrix for quantized weights).
  let bValue: ValueID
  let layout: MatmulLayout
  /// Batch index → (A batch, B batch) after numpy broadcasting.
  let batches: [(Int, Int)]
  let epilogue: Epilogue
  let weights: Weights
  /// B packed once for the SGEMM when it is an f32 constant of one batch (``GEMMPackedB``).
  let packedConstant: ConstantCache<GEMMPackedB>?

  /// Whether B is read at its source (the quantized weight, the viewed input), so the step that
  /// materialises B is needed only if something else reads it.
  var readsBAtSource: Bool {
    if case .f32 = weights { return false }
    if case .f16 = weights { return false }
    return true
  }

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
    } else if typeB.dtype == .f32, let (source, view) = Self.inputView(of: bValue, in: graph, producers: producers),
      let strided = Self.stridedWeights(view, layout)
    {
      b = source
      weights = strided
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
    guard
      let epilogue = Epilogue(
        nodes.filter { $0.result != matmul.result }, after: matmul.result, in: graph, product: .init(layout))
    else { return nil }
    self.epilogue = epilogue
    let constantB = Self.isConstant(bValue, in: graph, producers: producers)
    packedConstant = weights == .f32 && constantB && layout.batchB.count == 1 ? .init() : nil
  }

  /// Whether `value` is the result of a `constant` node (`producers` maps each value to its
  /// defining node).
  static func isConstant(_ value: ValueID, in graph: Graph, producers: [ValueID: Int]) -> Bool {
    producers[value].map { graph.nodes[$0].kind == .constant } ?? false
  }

  /// `w`, its dtype and whether B is its transpose, when `value` is `transpose(dequantize(w))` or
  /// `dequantize(w)` to f32 of a rank-2 quantized `w`, or `transpose(cast(w))` to f32 of a rank-2
  /// f16 or bf16 `w` (read as tiles of its 16-bit values, ``F16Tile``).
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
    let dequantizes = node.kind == .dequantize && graph.type(of: node.result).dtype == .f32
    guard dequantizes || graph.widenedSixteenBitOperand(of: node) != nil else { return nil }
    let w = node.operands[0], type = graph.type(of: w)
    // QuantizedMatmul reads the 32-element formats it has decoders for, and `n × k` weights of
    // the formats it reads as tiles (q5_0, q5_1, q3_k, q4_k, q5_k, q6_k, and f16/bf16 widened by
    // a cast); the other block types are dequantized by their group and multiplied as f32.
    guard QuantizedBlocks.readsInPlace(type.dtype) || (transposed && QuantizedTiles.supports(type.dtype)),
      type.shape.rank == 2
    else { return nil }
    return (w, type.dtype, transposed)
  }

  /// For f32 B: its row and column strides and the element offset of each batch of B.
  private var f32Strides: (rowStride: Int, columnStride: Int, offset: (Int) -> Int)? {
    switch weights {
    case .f32: (layout.n, 1, { [layout] in $0 * layout.k * layout.n })
    case .f32View(let rowStride, let columnStride, let batchOffsets): (rowStride, columnStride, { batchOffsets[$0] })
    default: nil
    }
  }

  /// The graph input that `value` is a movement chain of, and the strided view the chain makes.
  private static func inputView(of value: ValueID, in graph: Graph, producers: [ValueID: Int]) -> (
    ValueID, StridedView
  )? {
    var chain: [ValueID: Int] = [:], current = value
    while let index = producers[current], [.reshape, .transpose, .slice, .broadcast].contains(graph.nodes[index].kind) {
      chain[current] = index
      current = graph.nodes[index].operands[0]
    }
    // The chain starts at an argument, or at state an update_slice wrote (both are materialised).
    let isState = producers[current].map { graph.nodes[$0].kind == .updateSlice } ?? false
    guard !chain.isEmpty, graph.arguments.contains(current) || isState else { return nil }
    return StridedView.of(value, in: graph, inside: chain)
  }

  /// B through `view` when a kernel reads that layout: unit column stride (row-major, any rows of
  /// A), or unit row stride (column-major) for at most ``SmallMatmul/maxRows`` rows.
  private static func stridedWeights(_ view: StridedView, _ layout: MatmulLayout) -> Weights? {
    let rank = view.dims.count
    guard !layout.bIsVector, rank == layout.batchB.rank + 2 else { return nil }
    let (rowStride, columnStride) = (view.strides[rank - 2], view.strides[rank - 1])
    guard columnStride == 1 || (rowStride == 1 && layout.m <= SmallMatmul.maxRows) else { return nil }
    let batchOffsets = (0..<layout.batchB.count).map { index in
      var rest = index, offset = view.offset
      for axis in (0..<(rank - 2)).reversed() {
        offset += rest % view.dims[axis] * view.strides[axis]
        rest /= view.dims[axis]
      }
      return offset
    }
    return .f32View(rowStride: rowStride, columnStride: columnStride, batchOffsets: batchOffsets)
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
  /// mode of matmuls against `n × k` quantized weights. A small f32 matmul takes the same route
  /// on any thread count, so its sums keep their order.
  func run(
    output: UnsafeMutableRawPointer, pointer: (ValueID) -> UnsafeMutableRawPointer, tiles: UnsafeRawPointer?,
    precision: QuantizedPrecision, pool: CPUThreadPool
  ) {
    let (m, k, n) = (layout.m, layout.k, layout.n)
    let x = pointer(a).assumingMemoryBound(to: Float.self)
    let c = output.assumingMemoryBound(to: Float.self)
    if let (rowStride, columnStride, offsets) = f32Strides, m <= SmallMatmul.maxRows {
      let base = UnsafePointer(pointer(b).assumingMemoryBound(to: Float.self))
      let batch = SmallMatmul.Batch(
        a: batches.map { UnsafePointer(x) + $0.0 * m * k }, b: batches.map { base + offsets($0.1) },
        c: batches.indices.map { c + $0 * m * n })
      if columnStride == 1 && batches.count == 1 {
        // One product: the threads take bands of its columns (each element's sum in the same
        // order on any count). The SGEMM this went to on more than one thread filled one row of
        // each twelve-row tile: MobileNetV3-Small's classifier (1×1024 · 1024×1000) took 0.27 ms
        // on two threads against 0.07 ms on one.
        pool.forEachChunk(of: n, grain: 16) { columns in
          let band = SmallMatmul.Batch(
            a: batch.a, b: [batch.b[0] + columns.lowerBound], c: [batch.c[0] + columns.lowerBound])
          SmallMatmul.rowMajorB(band, products: 0..<1, m: m, n: columns.count, k: k, ldb: rowStride, ldc: n)
        }
      } else if columnStride == 1 {
        pool.forEachChunk(of: batches.count) {
          SmallMatmul.rowMajorB(batch, products: $0, m: m, n: n, k: k, ldb: rowStride)
        }
      } else {
        pool.forEachChunk(of: n, grain: 16) {
          SmallMatmul.columnMajorB(batch, columns: $0, m: m, n: n, k: k, ldb: columnStride)
        }
      }
      for index in batches.indices { applyEpilogue(batch: index, to: c + index * m * n, pointer: pointer) }
      return
    }
    for (index, (batchA, batchB)) in batches.enumerated() {
      let epilogue = self.epilogue.resolved(batch: index, m: m, n: n, pointer: pointer)
      let target = c + index * m * n
      let rows = x + batchA * m * k
      switch weights {
      case .f16:
        let w = pointer(b).assumingMemoryBound(to: Float16.self) + batchB * k * n
        SGEMM.multiply(
          m: m, n: n, k: k, a: rows, lda: k, b: w, ldb: n, c: target, ldc: n, epilogue: epilogue, pool: pool)
      case .f32, .f32View:
        let (rowStride, _, offsets) = f32Strides!
        let w = UnsafePointer(pointer(b).assumingMemoryBound(to: Float.self)) + offsets(batchB)
        if let packed = packedConstant?.packed(w, ldb: rowStride, k: k, n: n, nr: SGEMM.Microkernel.preferred.columns) {
          SGEMM.multiply(
            m: m, n: n, k: k, a: rows, lda: k, source: GEMMPackedSource(packed: packed), c: target, ldc: n,
            epilogue: epilogue, pool: pool)
        } else {
          SGEMM.multiply(
            m: m, n: n, k: k, a: rows, lda: k, b: w, ldb: rowStride, c: target, ldc: n, epilogue: epilogue, pool: pool)
        }
      case .quantized(let dtype, let transposed):
        let w = UnsafeRawPointer(pointer(b))
        if transposed {
          QuantizedMatmul.multiply(
            x: rows, m: m, k: k, weights: w, dtype: dtype, n: n, y: target, precision: precision, pool: pool,
            tiles: tiles)
        } else {
          QuantizedMatmul.multiply(x: rows, m: m, k: k, weightsByColumn: w, dtype: dtype, n: n, y: target, pool: pool)
        }
        applyEpilogue(epilogue, to: target)
      }
    }
  }

  /// Applies the epilogue of batch element `batch` to its `m × n` product at `target`, row by
  /// row on the caller: what a quantized matmul does after its product.
  func applyEpilogue(
    batch: Int = 0, to target: UnsafeMutablePointer<Float>, pointer: (ValueID) -> UnsafeMutableRawPointer
  ) {
    applyEpilogue(epilogue.resolved(batch: batch, m: layout.m, n: layout.n, pointer: pointer), to: target)
  }

  private func applyEpilogue(_ epilogue: GEMMEpilogue, to target: UnsafeMutablePointer<Float>) {
    guard !epilogue.isIdentity else { return }
    for i in 0..<layout.m { epilogue.apply(row: i, columns: 0..<layout.n, c: target, ldc: layout.n) }
  }
}
