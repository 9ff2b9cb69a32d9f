import TesseraIR

extension KernelGenerator {
  /// The kernel of an ``GroupKind/attention`` group (``AttentionFusion``): one workgroup of
  /// `lanes` work-items per row of scores. The lanes compute the row's masked scores (each a dot
  /// product through the group's epilogue and mask) into shared memory, take their maximum and
  /// the sum of `exp(score − max)` in shared-memory trees, then each output of the row is
  /// `Σ exp(score − max) · value / sum` through the product's epilogue. The same math as the
  /// softmax then the matmul; only the f32 summation order differs. Where the mask shows the keys
  /// up to a position known at run time (``visibleKeys(_:in:)``: a decode step's), every loop
  /// over the keys stops after the last one it shows. With `vectorLanes` (CPU
  /// drivers, whose work-items run as plain SIMD code), the dot products of the scores and the
  /// products by the values take vectors of that many elements where the operands are adjacent
  /// in their buffers along the contraction and along the output row (each lane then computes
  /// whole vectors of the row).
  static func attention(
    _ group: FusedGroup, lanes: Int, vectorLanes: Int? = nil, _ emitter: GroupEmitter, _ output: KBufferRef
  ) {
    let k = emitter.builder, graph = emitter.graph
    let parts = AttentionFusion.Parts(group, in: graph)
    let maskedShape = graph.type(of: parts.masked).shape, outputShape = graph.type(of: parts.product.result).shape
    let keys = maskedShape.dims.last!, rows = maskedShape.count / keys, width = outputShape.dims.last!
    k.launch(global: [.constant(rows * lanes)], workgroup: [lanes])
    let row = k.groupID(0), lane = k.localID(0)
    let weights = k.shared("weights", .f32, count: keys)
    let partial = k.shared("partial", .f32, count: lanes)
    let peak = k.variable(k.f32(-.infinity))
    let seen =
      visibleKeys(parts, in: graph).map { firstHidden(by: $0, row: row, keys: keys, parts, emitter) }
      ?? emitter.index(keys)
    k.loop(from: lane, to: seen, step: lanes) { key in
      emitter.scoped {
        let score = maskedScore(parts, flat: row * emitter.index(keys) + key, vectorLanes: vectorLanes, emitter)
        weights[key] = score
        peak.value = k.max(peak.value, score)
      }
    }
    let rowPeak = combined(peak.value, in: partial, lanes: lanes, lane: lane, k) { k.max($0, $1) }
    let total = k.variable(k.f32(0))
    k.loop(from: lane, to: seen, step: lanes) { key in
      let weight = k.exp(weights[key] - rowPeak)
      weights[key] = weight
      total.value = total.value + weight
    }
    k.barrier()
    let normalizer = k.unary(.reciprocal, combined(total.value, in: partial, lanes: lanes, lane: lane, k) { $0 + $1 })
    let layout = MatmulLayout(
      graph.type(of: parts.product.operands[0]).shape, graph.type(of: parts.product.operands[1]).shape)
    let values = parts.product.operands[1], valueAxis = graph.type(of: values).shape.rank - 1
    if let vectorLanes, !layout.bIsVector, emitter.isVectorizable(values, axis: valueAxis, lanes: vectorLanes) {
      k.loop(from: lane * emitter.index(vectorLanes), to: emitter.index(width), step: lanes * vectorLanes) { first in
        emitter.scoped {
          let flat = row * emitter.index(width) + first
          let coordinates = emitter.coordinates(of: flat, in: outputShape)
          let batch = emitter.broadcast(Array(coordinates.dropLast(2)), to: layout.batchB)
          let sum = interleavedSum(count: keys, upTo: seen, of: KType(.f32, lanes: vectorLanes), emitter) { key in
            emitter.vector(values, at: batch + [key, first], axis: valueAxis, lanes: vectorLanes)
              * weights[key].splat(vectorLanes)
          }
          for e in 0..<vectorLanes {
            emitter.scoped {
              let at = Array(coordinates.dropLast()) + [e == 0 ? first : first + emitter.index(e)]
              emitter.define(parts.product.result, at: at, as: sum.lane(e) * normalizer)
              output[e == 0 ? flat : flat + emitter.index(e)] = emitter.value(group.root, at: at)
            }
          }
        }
      }
      return
    }
    k.loop(from: lane, to: emitter.index(width), step: lanes) { column in
      emitter.scoped {
        let flat = row * emitter.index(width) + column
        let coordinates = emitter.coordinates(of: flat, in: outputShape)
        let batch = emitter.broadcast(Array(coordinates.dropLast(2)), to: layout.batchB)
        let sum = interleavedSum(count: keys, upTo: seen, of: KType(.f32), emitter) { key in
          weights[key] * emitter.value(parts.product.operands[1], at: batch + [key, column])
        }
        emitter.define(parts.product.result, at: coordinates, as: sum * normalizer)
        output[flat] = emitter.value(group.root, at: coordinates)
      }
    }
  }

  /// The masked score at flat index `flat` of the softmax's input: the scores' matmul at the
  /// same flat index of its result, through its epilogue, the reshape and the mask.
  private static func maskedScore(
    _ parts: AttentionFusion.Parts, flat: KExpr, vectorLanes: Int?, _ emitter: GroupEmitter
  ) -> KExpr {
    let graph = emitter.graph
    let maskedShape = graph.type(of: parts.masked).shape, scoresShape = graph.type(of: parts.scores.result).shape
    let coordinates = emitter.coordinates(of: flat, in: maskedShape)
    if let reshape = parts.reshape {
      // The epilogue before the reshape runs at the scores' own coordinates; the masking group
      // reads the reshape at the masked ones.
      let scoresCoordinates = emitter.coordinates(of: flat, in: scoresShape)
      matmul(parts.scores, at: scoresCoordinates, emitter, vectorLanes: vectorLanes)
      let reshaped = emitter.value(reshape.operands[0], at: scoresCoordinates)
      emitter.define(
        reshape.result, at: emitter.broadcast(coordinates, to: graph.type(of: reshape.result).shape), as: reshaped)
    } else {
      matmul(parts.scores, at: emitter.broadcast(coordinates, to: scoresShape), emitter, vectorLanes: vectorLanes)
    }
    return emitter.value(parts.masked, at: coordinates).cast(.f32)
  }

  /// `value` of every lane combined by `operation` in a shared-memory tree over `partial`; every
  /// lane gets the result (barriers before and after, so `partial` may be used again).
  private static func combined(
    _ value: KExpr, in partial: KSharedRef, lanes: Int, lane: KExpr, _ k: KernelBuilder,
    _ operation: (KExpr, KExpr) -> KExpr
  ) -> KExpr {
    partial[lane] = value
    var stride = lanes / 2
    while stride >= 1 {
      k.barrier()
      let other = lane + k.i32(stride)
      k.if(lane.lt(k.i32(stride))) { partial[lane] = operation(partial[lane], partial[other]) }
      stride /= 2
    }
    k.barrier()
    let result = partial[k.i32(0)]
    k.barrier()
    return result
  }
}
