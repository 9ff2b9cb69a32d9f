import TesseraIR

/// The generated kernel of a matmul group whose right operand is `transpose(dequantize(w))` of a
/// rank-2 quantized `w` (`n × k`, GGUF blocks of 32 along `k`): it reads `w`'s blocks in place,
/// so that the dequantized `k × n` matrix is never materialised (the targets that enable
/// ``TargetCapabilities/matmulsReadQuantizedWeights``). `transpose(cast(w))` of an f16 or bf16
/// `w` (an F16 GGUF's weights) is read in place the same way, each chunk loaded and widened.
///
/// A workgroup is `lanes × rows` work-items and computes `rows` consecutive outputs `j` (rows of
/// `w`) for `xRows` consecutive rows of the left operand: lane `l` takes chunks of
/// ``QuantizedMatmulShape/chunk`` consecutive elements of `k` starting at `l · chunk`, strides
/// by `lanes · chunk`, and keeps one f32 sum per row of x, so each dequantized element of `w` is
/// loaded once per workgroup and multiplied by every row of x. The lanes of an output then sum
/// their partial sums: with one subgroup reduction each where the target has subgroups (the
/// lanes of an output are one subgroup, no barrier), else in a shared-memory tree; lane 0 of each
/// output evaluates the group's epilogue (a residual add, SwiGLU's `silu(g) * u`) and stores it.
///
/// With one lane per output and x a buffer, the work-item instead streams its row of `w` 32
/// elements at a time (``QuantizedMatmulShape/streamedChunk``-lane vector loads of `w` and x, one
/// vector sum per row of x, summed across its lanes at the end): on drivers that run a workgroup
/// as a loop over its work-items on a CPU (PoCL), that is plain SIMD code with no reduction.
struct QuantizedMatmulShape: Hashable, Sendable {
  /// Work-items splitting `k` for one output (a power of two).
  var lanes = 32
  /// Outputs (rows of `w`) per workgroup.
  var rows = 4
  /// Rows of the left operand per workgroup (1 for a matrix-vector product).
  var xRows = 4
  /// Consecutive elements a lane takes at a time, read as one vector `load_dequant` (one scale
  /// read per chunk); divides the block size 32.
  var chunk = 8
  /// Whether the lanes of an output sum with ``KInstruction/subgroupAdd(_:_:)`` (`lanes` is the
  /// target's subgroup size) instead of a shared-memory tree.
  var subgroupSums = false
  /// Outputs a streaming work-item computes (one lane per output), reading a copy of
  /// block-quantized weights with that many rows interleaved where above 1
  /// (``TargetCapabilities/interleavedWeightRows``).
  var interleavedRows = 1
  /// Whether a matmul with at least a tile of rows of x (a prefill) takes the tiled kernel
  /// (``TiledQuantizedMatmul``) instead of this shape.
  var tiled = true

  /// Work-items of a workgroup the subgroup shape aims for (several subgroups, one per output):
  /// 16 outputs of 8 lanes on lavapipe, whose 576 x 576 q4_1 matvec took 6.1–6.6 ms so against
  /// 9.9 ms with 8 outputs (docs/gpu-quantized-matmul.md).
  static let subgroupWorkgroupSize = 128

  /// The chunk of the shape with one lane per output: half a 32-element block, so a q4 chunk's
  /// codes are 16 consecutive bytes at one nibble position.
  static let streamedChunk = 16

  /// The shape for a target: one subgroup per output and as many outputs as make
  /// ``subgroupWorkgroupSize`` work-items where the target sums across subgroups of
  /// `subgroupSize` work-items; otherwise 32 lanes × 4 outputs and a shared-memory tree.
  init(subgroupSize: Int?) {
    guard let subgroupSize, subgroupSize >= 1, subgroupSize & (subgroupSize - 1) == 0 else { return }
    lanes = subgroupSize
    rows = Swift.max(1, Self.subgroupWorkgroupSize / subgroupSize)
    subgroupSums = true
  }
}

extension KernelGenerator {
  /// `w` when `node` is `matmul(a, transpose(dequantize(w)))` with `w` a rank-2 quantized value
  /// whose rows are whole blocks, dequantized to f32, or `matmul(a, transpose(cast(w)))` with `w`
  /// a rank-2 f16 or bf16 value whose rows are whole multiples of 32, widened to f32; and an f32
  /// `a` and result.
  static func quantizedWeight(of node: Node, in graph: Graph, definingNode: [ValueID: Int]) -> ValueID? {
    guard node.kind == .matmul, graph.type(of: node.result).dtype == .f32,
      graph.type(of: node.operands[0]).dtype == .f32,
      let transpose = definingNode[node.operands[1]].map({ graph.nodes[$0] }), transpose.kind == .transpose,
      (transpose.attributes.ints("perm") ?? [1, 0]) == [1, 0],
      let decode = definingNode[transpose.operands[0]].map({ graph.nodes[$0] })
    else { return nil }
    let w: ValueID, rowMultiple: Int?
    if decode.kind == .dequantize, graph.type(of: decode.result).dtype == .f32 {
      w = decode.operands[0]
      rowMultiple = graph.type(of: w).dtype.quantBlock?.elements
    } else if let widened = graph.widenedSixteenBitOperand(of: decode) {
      (w, rowMultiple) = (widened, 32)
    } else {
      return nil
    }
    let shape = graph.type(of: w).shape
    guard let rowMultiple, shape.rank == 2, shape.dims[1] % rowMultiple == 0 else { return nil }
    return w
  }

  /// Emits the kernel described at ``QuantizedMatmulShape`` for the matmuls `products` (each a
  /// core reading its weight `w` in place; several only where they multiply the same x into
  /// results of one shape, a feed-forward's gate and up: each work-item then sums every product
  /// of its output and the group's epilogue reads them all).
  static func quantizedMatmul(
    _ products: [(core: Node, weight: ValueID)], shape: QuantizedMatmulShape, root: ValueID, _ emitter: GroupEmitter,
    _ output: KBufferRef
  ) {
    let k = emitter.builder, graph = emitter.graph
    let core = products[0].core
    let layout = MatmulLayout(graph.type(of: core.operands[0]).shape, graph.type(of: core.operands[1]).shape)
    let resultShape = graph.type(of: core.result).shape
    let (n, depth) = (layout.n, layout.k)
    let outerShape = Shape(Array(resultShape.dims.dropLast()))
    let outer = outerShape.count
    // x is read a chunk at a time (one vector load) where it is a buffer as it is; a value the
    // group computes (or a constant) is evaluated element by element. Where the kernel computes
    // x's RMS norm, it reads the norm's input.
    let norm = FusedRowNorm(of: core.operands[0], emitter)
    let xValue = norm?.input ?? core.operands[0]
    let xShape = graph.type(of: xValue).shape
    let xBuffer = emitter.isLoadedFromBuffer(xValue) ? emitter.buffer(for: xValue) : nil
    let cacheWrite = emitter.member(defining: root).flatMap {
      $0.kind == .updateSlice && UpdateSlice.inPlaceBase(of: $0, in: graph) != nil ? $0 : nil
    }
    if shape.tiled, products.count == 1, norm == nil, cacheWrite == nil, TiledQuantizedMatmul.serves(rows: outer),
      let xBuffer
    {
      tiledQuantizedMatmul(core, weight: products[0].weight, xBuffer: xBuffer, root: root, emitter, output)
      return
    }
    var shape = shape
    shape.xRows = Swift.min(shape.xRows, outer, norm == nil ? outer : Swift.max(1, FusedRowNorm.stagedElements / depth))
    let (lanes, xRows, chunk) = (shape.lanes, shape.xRows, shape.chunk)
    // A streaming work-item computes `perItem` outputs from a copy of the weights with that many
    // rows interleaved, where the target asks for it and every weight is block-quantized; a
    // workgroup still computes `shape.rows` outputs (work-items for both threads of PoCL).
    let weightTypes = products.map { graph.type(of: $0.weight).dtype }
    let perItem =
      lanes == 1 && xBuffer != nil && weightTypes.allSatisfy(\.isQuantized) ? Swift.max(1, shape.interleavedRows) : 1
    let rows = Swift.max(1, shape.rows / perItem)
    let items = (n + perItem - 1) / perItem
    let columnGroups = (items + rows - 1) / rows, rowGroups = (outer + xRows - 1) / xRows
    k.launch(
      global: [.constant(lanes), .constant(rows * columnGroups), .constant(rowGroups)], workgroup: [lanes, rows, 1])
    let lane = k.localID(0), slot = k.localID(1)
    let item = k.groupID(1) * emitter.index(rows) + slot
    let j = perItem == 1 ? item : item * emitter.index(perItem)
    let firstRow = k.groupID(2) * emitter.index(xRows)
    let interleave = KRowInterleave(rows: perItem, rowCount: n, rowElements: depth)
    let weights = products.map { emitter.buffer(for: $0.weight, interleave: perItem == 1 ? nil : interleave) }
    let stores = (0..<perItem).map { r in
      QuantizedMatmulStore(
        cores: products.map(\.core), root: root, j: r == 0 ? j : j + emitter.index(r), n: n, firstRow: firstRow,
        outer: outer, lane: lane, outerShape: outerShape, norm: norm, cacheWrite: cacheWrite)
    }
    // Rows of x past the end read the last row (and are not stored); columns past n sum nothing.
    let outerIndices = (0..<xRows).map { r in k.min(firstRow + emitter.index(r), emitter.index(outer - 1)) }
    let outerCoordinates = outerIndices.map { emitter.coordinates(of: $0, in: outerShape) }
    if lanes == 1, let xBuffer {
      // One loop a product: streaming two products at once ran slower on PoCL (SmolLM2's gate and
      // up: 117 µs against 106 µs).
      // The first product's loop also sums the squares of x where the kernel computes its norm.
      let stream = StreamedRows(
        interleave: interleave, first: j, outerCoordinates: outerCoordinates, layout: layout, xShape: xShape,
        chunk: chunk, norm: norm)
      let streamed = zip(weights, weightTypes).enumerated().map { index, weight in
        streamedSums(
          weight.0, xBuffer, stream, blockElements: weight.1.quantBlock?.elements ?? 32, summingSquares: index == 0,
          emitter)
      }
      for (r, store) in stores.enumerated() {
        store.emit(streamed.map { $0.sums[r] }, squares: { streamed[0].squares[$0] }, emitter, output)
      }
      return
    }
    let store = stores[0]
    // Where the kernel computes x's norm, the workgroup first stages `x ⊙ g` in shared memory.
    let staged = norm.map {
      $0.stage(
        rows: outerCoordinates.map { emitter.linear(aCoordinates($0, emitter.index(0), layout, emitter), in: xShape) },
        from: xBuffer, shape, lane: lane, slot: slot, emitter)
    }
    let sums = weights.map { _ in (0..<xRows).map { _ in k.variable(k.f32(0)) } }
    k.if(j.lt(emitter.index(n))) {
      emitter.scoped {
        let weightRow = j * emitter.index(depth)
        k.loop(from: lane * emitter.index(chunk), to: emitter.index(depth), step: lanes * chunk) { start in
          emitter.scoped {
            let xChunks =
              staged == nil
              ? xBuffer.map { buffer in
                outerCoordinates.map { outer in
                  buffer.load(emitter.linear(aCoordinates(outer, start, layout, emitter), in: xShape), lanes: chunk)
                }
              } : nil
            let chunkWeights = weights.map { widenedLoad($0, weightRow + start, lanes: chunk) }
            for e in 0..<chunk {
              let at = e == 0 ? start : start + emitter.index(e)
              let xs = (0..<xRows).map { r in
                staged?.x(row: r, at: at)
                  ?? xChunks.map { chunk == 1 ? $0[r] : $0[r].lane(e) }
                  ?? emitter.value(xValue, at: aCoordinates(outerCoordinates[r], at, layout, emitter))
              }
              for (productWeights, productSums) in zip(chunkWeights, sums) {
                let weight = chunk == 1 ? productWeights : productWeights.lane(e)
                for (x, sum) in zip(xs, productSums) { sum.value = x.multipliedAdding(weight, sum.value) }
              }
            }
          }
        }
      }
    }
    let flat = sums.flatMap { $0 }
    let totals = shape.subgroupSums ? flat.map { $0.value.subgroupAdd() } : treeSums(flat, shape, lane, slot, emitter)
    let productTotals = stride(from: 0, to: totals.count, by: xRows).map { Array(totals[$0..<$0 + xRows]) }
    store.emit(productTotals, squares: { staged!.squares(row: $0) }, emitter, output)
  }

  /// What a streaming work-item computes: `interleave.rows` consecutive outputs from `first`
  /// (fewer past `interleave.rowCount`) for each row of x at `outerCoordinates`, over a
  /// contraction of `interleave.rowElements`, read from the weights in the interleave's order (as
  /// they are where it has one row), in `chunk`-lane vectors; x multiplied by the weight of its
  /// `norm` where the kernel computes it.
  struct StreamedRows {
    var interleave: KRowInterleave
    var first: KExpr
    var outerCoordinates: [[KExpr]]
    var layout: MatmulLayout
    var xShape: Shape
    var chunk: Int
    var norm: FusedRowNorm?
  }

  /// One work-item's sums of `stream.interleave.rows` outputs for each row of x (the shape with
  /// one lane per output; `sums[r][x]`): `chunk`-lane vector sums, each iteration reading 64 or
  /// 32 elements of `k` (whole smallest blocks, so the chunks of one block are decoded together)
  /// of every row, each chunk of x loaded once for all of them, consecutive chunks rotating
  /// through ``streamedAccumulators`` sums (shared out among the rows) that are added and summed
  /// across their lanes at the end; then, with `summingSquares` where the kernel computes x's
  /// norm, the sums of x's squares for each row of x. Several rows are read from the copy with
  /// them interleaved (``KRowInterleave``, blocks of `blockElements`), one row from `weights` as
  /// it is.
  private static func streamedSums(
    _ weights: KBufferRef, _ xBuffer: KBufferRef, _ stream: StreamedRows, blockElements: Int, summingSquares: Bool,
    _ emitter: GroupEmitter
  ) -> (sums: [[KExpr]], squares: [KExpr]) {
    // `depth` is whole blocks (32 or 256 elements): a step of two 32-element blocks where it is
    // a multiple of 64, else one.
    let interleave = stream.interleave, depth = interleave.rowElements
    let k = emitter.builder, stepElements = depth % 64 == 0 ? 64 : 32
    let (rows, chunk, norm) = (interleave.rows, stream.chunk, stream.norm)
    let accumulators = Swift.max(1, Swift.min(streamedAccumulators / rows, stepElements / chunk))
    let fresh = { (0..<accumulators).map { _ in k.variable(k.f32(0).splat(chunk)) } }
    let sums = (0..<rows).map { _ in stream.outerCoordinates.map { _ in fresh() } }
    let squares = norm == nil || !summingSquares ? [] : stream.outerCoordinates.map { _ in fresh() }
    // Element `e` of block `b` of row `first + r` is element `rowBase + b·rows·B + r·B + e` of the
    // interleaved copy (``KRowInterleave/index(row:column:blockElements:)``; `first·depth + b·B +
    // e` of the weights as they are, `rows` = 1): `stepBase` is the step's own part, the rest a
    // constant per row and chunk.
    let rowBase = stream.first * emitter.index(depth)
    let blockStride = rows * blockElements
    k.if(stream.first.lt(emitter.index(interleave.rowCount))) {
      emitter.scoped {
        k.loop(from: emitter.index(0), to: emitter.index(depth), step: stepElements) { start in
          emitter.scoped {
            // Each chunk's weights at `stepBase + offset`: a driver's compiler then sees that the
            // chunks of one block share its scale (`weightRow + at` hid it from PoCL's, which
            // decoded each scale twice: 1536 × 576 q4_1 47 → 40 µs).
            let stepBase: KExpr
            if rows == 1 {
              stepBase = rowBase + start
            } else if stepElements % blockElements == 0 {
              stepBase = rowBase + start * emitter.index(rows)
            } else {
              let block = emitter.index(blockElements)
              stepBase = rowBase + (start / block) * emitter.index(blockStride) + start % block
            }
            for offset in stride(from: 0, to: stepElements, by: chunk) {
              let at = offset == 0 ? start : start + emitter.index(offset)
              let slot = offset / chunk % accumulators
              let chunkWeights = (0..<rows).map { r in
                let within = interleave.index(row: r, column: offset, blockElements: blockElements)
                return widenedLoad(weights, within == 0 ? stepBase : stepBase + emitter.index(within), lanes: chunk)
              }
              let normWeights = norm?.weights(from: at, lanes: chunk, emitter)
              for (x, outer) in stream.outerCoordinates.enumerated() {
                var values = xBuffer.load(
                  emitter.linear(aCoordinates(outer, at, stream.layout, emitter), in: stream.xShape), lanes: chunk)
                if let normWeights {
                  if summingSquares { squares[x][slot].value = values.multipliedAdding(values, squares[x][slot].value) }
                  values = values * normWeights
                }
                for r in 0..<rows {
                  sums[r][x][slot].value = values.multipliedAdding(chunkWeights[r], sums[r][x][slot].value)
                }
              }
            }
          }
        }
      }
    }
    let total = { (partials: [KVariableRef]) in partials.dropFirst().reduce(partials[0].value) { $0 + $1.value } }
    return (sums.map { $0.map { total($0).reduceLanes(.add) } }, squares.map { total($0).reduceLanes(.add) })
  }

  /// The vector sums a streaming work-item keeps per row of x: consecutive chunks rotate
  /// through them, so that each addition does not wait for the one before (PoCL, SmolLM2's
  /// decode matrices each a separate allocation as in a decode step: 1536 × 576 q4_1 52 µs with
  /// one sum, 47 with four).
  static let streamedAccumulators = 4

  /// `lanes` weights from element `i` as f32: dequantized (quantized `weights`) or widened (f16,
  /// bf16).
  static func widenedLoad(_ weights: KBufferRef, _ i: KExpr, lanes: Int) -> KExpr {
    let values = weights.load(i, lanes: lanes)
    return weights.dtype.isQuantized ? values : values.cast(.f32)
  }

  /// The lanes' `sums` (one per row of x) summed over the lanes of each output in a
  /// shared-memory tree (log2(lanes) + 1 barriers); lane 0's values are the totals.
  private static func treeSums(
    _ sums: [KVariableRef], _ shape: QuantizedMatmulShape, _ lane: KExpr, _ slot: KExpr, _ emitter: GroupEmitter
  ) -> [KExpr] {
    let k = emitter.builder, (lanes, rows) = (shape.lanes, shape.rows)
    let partial = k.shared("partial", .f32, count: sums.count * rows * lanes)
    let base = slot * emitter.index(lanes) + lane
    for (r, sum) in sums.enumerated() { partial[base + emitter.index(r * rows * lanes)] = sum.value }
    var stride = lanes / 2
    while stride >= 1 {
      k.barrier()
      k.if(lane.lt(emitter.index(stride))) {
        emitter.scoped {
          for r in sums.indices {
            let mine = base + emitter.index(r * rows * lanes)
            partial[mine] = partial[mine] + partial[mine + emitter.index(stride)]
          }
        }
      }
      stride /= 2
    }
    k.barrier()
    return sums.indices.map { r in partial[slot * emitter.index(lanes) + emitter.index(r * rows * lanes)] }
  }

  /// A's coordinates for element `p` of the contraction at the result's outer coordinates
  /// (batch dims, then the row unless A is a vector).
  static func aCoordinates(_ outer: [KExpr], _ p: KExpr, _ layout: MatmulLayout, _ emitter: GroupEmitter)
    -> [KExpr]
  {
    let batch = Array(outer.prefix(outer.count - (layout.aIsVector ? 0 : 1)))
    return emitter.broadcast(batch, to: layout.batchA) + (layout.aIsVector ? [p] : [outer.last!, p])
  }
}

/// Where a quantized matmul kernel stores: lane 0 of each output `j < n` defines every product's
/// total for each row of x, then stores the group's root there (its epilogue).
private struct QuantizedMatmulStore {
  let cores: [Node]
  let root: ValueID
  let j: KExpr
  let n: Int
  let firstRow: KExpr
  let outer: Int
  let lane: KExpr
  let outerShape: Shape
  let norm: FusedRowNorm?
  /// The root's `update_slice` where the group writes its result into an argument in place
  /// (``TargetCapabilities/computesCacheUpdates``: a decode step's value projection).
  let cacheWrite: Node?

  /// Emits the stores of `totals` (per product, one per row of x), each scaled by its row's norm
  /// where the kernel computes x's (from the row's sum of squares, `squares(r)`, emitted where
  /// lane 0 stores).
  func emit(_ totals: [[KExpr]], squares: (Int) -> KExpr, _ emitter: GroupEmitter, _ output: KBufferRef) {
    let k = emitter.builder
    let stores = lane.lt(emitter.index(1)).and(j.lt(emitter.index(n)))
    for r in totals[0].indices {
      let row = firstRow + emitter.index(r)
      k.if(stores.and(row.lt(emitter.index(outer)))) {
        emitter.scoped {
          let coordinates = emitter.coordinates(of: row, in: outerShape) + [j]
          let scale = norm.map { $0.scale(squares: squares(r), emitter) }
          for (core, productTotals) in zip(cores, totals) {
            emitter.define(core.result, at: coordinates, as: scale.map { productTotals[r] * $0 } ?? productTotals[r])
          }
          if let update = cacheWrite {
            // The group writes its update into the cache in place.
            let (start, fits) = KernelGenerator.updateStart(update, emitter)
            k.if(fits) {
              emitter.scoped {
                output[KernelGenerator.inPlaceIndex(update, of: coordinates, start: start, emitter)] = emitter.value(
                  update.operands[1], at: coordinates)
              }
            }
          } else {
            output[row * emitter.index(n) + j] = emitter.value(root, at: coordinates)
          }
        }
      }
    }
  }
}

/// When two matmuls share one quantized matmul kernel (``TargetCapabilities/pairsQuantizedProducts``),
/// and which products take the per-output shape that may also compute the RMS norm of its x
/// (``TargetCapabilities/fusesNormsIntoProducts``).
enum QuantizedProductPair {
  /// Whether `node` and `product` both multiply the same f32 activation by a quantized (or
  /// 16-bit) weight read in place on `target` (``GraphCompiler/weightReadInPlace(by:in:definingNode:_:)``),
  /// into results of one type, with fewer rows of activation than the tiled prefill kernel takes
  /// where the target has it (that kernel computes one product). `definingNode` is
  /// `graph.definingNode`.
  static func pairs(
    _ node: Node, _ product: Node, in graph: Graph, definingNode: [ValueID: Int], _ target: TargetCapabilities
  ) -> Bool {
    node.operands[0] == product.operands[0] && graph.type(of: node.result) == graph.type(of: product.result)
      && runsPerOutput(node, in: graph, definingNode: definingNode, target)
      && runsPerOutput(product, in: graph, definingNode: definingNode, target)
  }

  /// Whether `node` is a matmul by a quantized (or 16-bit) weight read in place on `target`
  /// that takes the per-output shape of ``QuantizedMatmulShape`` (fewer rows of x than the tiled
  /// prefill kernel takes, where the target has it), which may sum several products and compute
  /// the RMS norm of its x.
  static func runsPerOutput(
    _ node: Node, in graph: Graph, definingNode: [ValueID: Int], _ target: TargetCapabilities
  ) -> Bool {
    guard node.kind == .matmul,
      GraphCompiler.weightReadInPlace(by: node, in: graph, definingNode: definingNode, target) != nil
    else { return false }
    let rows = GraphCompiler.activationRows(of: node, in: graph)
    return !QuantizedMatmulShape(target: target).tiled || !TiledQuantizedMatmul.serves(rows: rows)
  }
}
