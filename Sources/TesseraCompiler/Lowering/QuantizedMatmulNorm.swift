import TesseraIR

/// The RMS norm a quantized matmul kernel computes of its x
/// (``TargetCapabilities/fusesNormsIntoProducts``). Since `rms_norm(x, g) · Wᵀ = r · ((x ⊙ g) · Wᵀ)`
/// with `r = rsqrt(mean(x²) + ε)` for each row of x, the kernel reads the norm's input, multiplies
/// it by the norm's weight `g`, sums the squares of x, and multiplies each output's total by `r`.
///
/// The workgroup shape with lanes splitting K first stages `x ⊙ g` of its rows in shared memory,
/// each work-item taking every (lanes · rows)-th element and summing its squares, which the
/// lanes of each output then sum with one subgroup reduction (or leave to the store, without
/// subgroups): so the extra work is one multiply per element of x for the workgroup, not one per
/// output (on lavapipe, multiplying and squaring x in every output's loop made q, k and v 1.5×
/// slower). The streamed shape (one work-item an output, on CPU drivers) does both in its loop,
/// on vectors.
struct FusedRowNorm {
  /// The norm's input: the x the kernel loads.
  let input: ValueID
  /// The norm's weight, of the row's length.
  let weight: ValueID
  /// `ε`.
  let epsilon: Double
  /// Elements of a row.
  let length: Int

  /// The norm of `operand` (a product's left operand) where it is an `rms_norm` of the group.
  init?(of operand: ValueID, _ emitter: GroupEmitter) {
    guard let node = emitter.member(defining: operand), node.kind == .rmsNorm else { return nil }
    input = node.operands[0]
    weight = node.operands[1]
    epsilon = node.attributes.double("epsilon") ?? 1e-6
    length = emitter.graph.type(of: operand).shape.dims.last!
  }

  /// `lanes` consecutive elements of the weight from `start` (a scalar for one lane). The weight
  /// is a buffer or a splat constant: fusion keeps its producers out of the kernel.
  func weights(from start: KExpr, lanes: Int, _ emitter: GroupEmitter) -> KExpr {
    guard emitter.isLoadedFromBuffer(weight) else {
      let value = emitter.value(weight, at: [start])
      return lanes == 1 ? value : value.splat(lanes)
    }
    return emitter.buffer(for: weight).load(start, lanes: lanes)
  }

  /// Elements of x (all its rows) the staged copy may hold: 12 KiB of f32, within the 16 KiB of
  /// shared memory every Vulkan device offers. Fusion computes no norm of longer rows, and a
  /// kernel stages fewer rows of x at once where they would not fit.
  static let stagedElements = 3072

  /// Stages `x ⊙ g` for the rows of x starting at the flat indices `rows` (element by element
  /// from `xBuffer`, or as the group computes x where it is not a buffer), and the partial sums
  /// of their squares; ends with a barrier.
  func stage(
    rows: [KExpr], from xBuffer: KBufferRef?, _ shape: QuantizedMatmulShape, lane: KExpr, slot: KExpr,
    _ emitter: GroupEmitter
  ) -> StagedRows {
    let k = emitter.builder, items = shape.lanes * shape.rows, depth = length
    let item = slot * emitter.index(shape.lanes) + lane
    let copy = k.shared("normed", .f32, count: rows.count * depth)
    let squares = rows.map { _ in k.variable(k.f32(0)) }
    let inputShape = emitter.graph.type(of: input).shape
    k.loop(from: item, to: emitter.index(depth), step: items) { i in
      emitter.scoped {
        let g = weights(from: i, lanes: 1, emitter)
        for (r, (first, sum)) in zip(rows, squares).enumerated() {
          let x = xBuffer?[first + i] ?? emitter.value(input, at: emitter.coordinates(of: first + i, in: inputShape))
          sum.value = sum.value + x * x
          copy[emitter.index(r * depth) + i] = x * g
        }
      }
    }
    let partialCount = shape.subgroupSums ? shape.rows : items
    let partials = k.shared("squares", .f32, count: rows.count * partialCount)
    for (r, sum) in squares.enumerated() {
      if shape.subgroupSums {
        let total = sum.value.subgroupAdd()
        let offset = emitter.index(r * partialCount)
        k.if(lane.lt(emitter.index(1))) { partials[offset + slot] = total }
      } else {
        partials[emitter.index(r * partialCount) + item] = sum.value
      }
    }
    k.barrier()
    return StagedRows(copy: copy, partials: partials, partialCount: partialCount, depth: depth, emitter: emitter)
  }

  /// `r` of a row from the sum of its squares.
  func scale(squares: KExpr, _ emitter: GroupEmitter) -> KExpr {
    emitter.builder.rsqrt(squares * (1 / Double(length)) + epsilon)
  }
}

/// `x ⊙ g` of a workgroup's rows of x in shared memory, and the partial sums of their squares
/// (``FusedRowNorm/stage(rows:from:_:lane:slot:_:)``).
struct StagedRows {
  let copy: KSharedRef
  let partials: KSharedRef
  let partialCount: Int
  let depth: Int
  let emitter: GroupEmitter

  /// `x ⊙ g` of row `row` at element `index` of the contraction.
  func x(row: Int, at index: KExpr) -> KExpr { copy[emitter.index(row * depth) + index] }

  /// The sum of the squares of row `row`.
  func squares(row: Int) -> KExpr {
    let k = emitter.builder
    let total = k.variable(k.f32(0)), offset = emitter.index(row * partialCount)
    k.loop(from: emitter.index(0), to: emitter.index(partialCount)) { p in
      total.value = total.value + partials[offset + p]
    }
    return total.value
  }
}
