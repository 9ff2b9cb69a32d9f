import TesseraIR

extension KernelGenerator {
  /// Lanes per workgroup in generated reductions.
  static let reductionLanes = 64

  /// One workgroup per output element of `core`: lanes stride over the reduced elements
  /// (evaluating the prologue at each input coordinate), combine through a shared-memory tree,
  /// and lane 0 evaluates the epilogue up to `root` and stores it.
  static func reduction(_ core: Node, root: ValueID, _ emitter: GroupEmitter, _ output: KBufferRef) {
    let k = emitter.builder, graph = emitter.graph
    let input = graph.type(of: core.operands[0]), result = graph.type(of: core.result)
    let axes = reducedAxes(core, rank: input.shape.rank)
    let reducedShape = Shape(axes.map { input.shape.dims[$0] })
    let kept = (0..<input.shape.rank).filter { !axes.contains($0) }
    let outputs = result.shape.count
    let lanes = Swift.min(reductionLanes, Swift.max(1, nextPowerOfTwo(reducedShape.count)))
    k.launch(global: [.constant(outputs * lanes)], workgroup: [lanes])
    let element = k.groupID(0), lane = k.localID(0)
    let outputCoordinates = emitter.coordinates(of: element, in: result.shape)
    let keptCoordinates = kept.map { axis in outputCoordinates[outputAxis(of: axis, kept: kept, axes: axes, core)] }
    let isArgmax = core.kind == .argmax
    let accumulation: DType = input.dtype.isFloatingPoint ? .f32 : input.dtype
    let best = k.variable(k.constant(identity(core.kind, accumulation), KType(accumulation)))
    let bestIndex = k.variable(emitter.index(0))
    k.loop(from: lane, to: emitter.index(reducedShape.count), step: lanes) { r in
      emitter.scoped {
        let reducedCoordinates = emitter.coordinates(of: r, in: reducedShape)
        var coordinates = [KExpr](repeating: emitter.index(0), count: input.shape.rank)
        for (position, axis) in kept.enumerated() { coordinates[axis] = keptCoordinates[position] }
        for (position, axis) in axes.enumerated() { coordinates[axis] = reducedCoordinates[position] }
        let x = emitter.value(core.operands[0], at: coordinates).cast(accumulation)
        if isArgmax {
          let better = argmaxBetter(x, r, best.value, bestIndex.value, k)
          best.value = k.select(better, x, best.value)
          bestIndex.value = k.select(better, r, bestIndex.value)
        } else {
          best.value = combine(core.kind, best.value, x, k)
        }
      }
    }
    let values = k.shared("partial", accumulation, count: lanes)
    let indices = k.shared("partial_index", .i32, count: lanes)
    values[lane] = best.value
    indices[lane] = bestIndex.value
    var stride = lanes / 2
    while stride >= 1 {
      k.barrier()
      let other = lane + emitter.index(stride)
      k.if(lane.lt(emitter.index(stride))) {
        let (a, b) = (values[lane], values[other])
        if isArgmax {
          let (ia, ib) = (indices[lane], indices[other])
          let better = argmaxBetter(b, ib, a, ia, k)
          values[lane] = k.select(better, b, a)
          indices[lane] = k.select(better, ib, ia)
        } else {
          values[lane] = combine(core.kind, a, b, k)
        }
      }
      stride /= 2
    }
    k.barrier()
    k.if(lane.lt(emitter.index(1))) {
      emitter.scoped {
        var reduced = isArgmax ? indices[emitter.index(0)] : values[emitter.index(0)]
        if core.kind == .reduceMean { reduced = reduced / Double(reducedShape.count) }
        emitter.define(core.result, at: outputCoordinates, as: reduced.cast(result.dtype))
        output[element] = emitter.value(root, at: outputCoordinates)
      }
    }
  }

  private static func reducedAxes(_ node: Node, rank: Int) -> [Int] {
    let probe = Shape([Int](repeating: 1, count: rank))
    if node.kind == .argmax { return [probe.normalizedAxis(node.attributes.int("axis")!)!] }
    return (node.attributes.ints("axes")?.map { probe.normalizedAxis($0)! } ?? Array(0..<rank)).sorted()
  }

  /// The output axis holding input axis `axis` (output keeps reduced axes as size 1 with keepdims).
  private static func outputAxis(of axis: Int, kept: [Int], axes: [Int], _ node: Node) -> Int {
    node.attributes.bool("keepdims") == true ? axis : kept.firstIndex(of: axis)!
  }

  /// The value that leaves a reduction unchanged, within `dtype`'s range.
  private static func identity(_ kind: OpKind, _ dtype: DType) -> Double {
    let (lowest, highest): (Double, Double) =
      switch dtype {
      case .i64: (-9.223372036854775808e18, 9.223372036854775807e18)
      case .i32: (Double(Int32.min), Double(Int32.max))
      case .i8: (Double(Int8.min), Double(Int8.max))
      case .u8: (0, 255)
      default: (-Double.infinity, Double.infinity)
      }
    switch kind {
    case .reduceMax, .argmax: return lowest
    case .reduceMin: return highest
    default: return 0
    }
  }

  private static func combine(_ kind: OpKind, _ a: KExpr, _ b: KExpr, _ k: KernelBuilder) -> KExpr {
    switch kind {
    case .reduceMax: k.max(a, b)
    case .reduceMin: k.min(a, b)
    default: a + b
    }
  }

  /// Whether (value, index) beats (best, bestIndex) for argmax: larger, or equal with a smaller
  /// index; a NaN beats every number, and the first NaN wins (numpy).
  private static func argmaxBetter(
    _ value: KExpr, _ index: KExpr, _ best: KExpr, _ bestIndex: KExpr, _ k: KernelBuilder
  ) -> KExpr {
    let valueIsNaN = value.compare(.ne, value), bestIsNaN = best.compare(.ne, best)
    let earlier = index.lt(bestIndex)
    let larger = value.gt(best).binary(.or, value.compare(.eq, best).and(earlier))
    let nanWins = valueIsNaN.and(bestIsNaN.compare(.eq, k.constant(0, .bool)).binary(.or, earlier))
    return k.select(bestIsNaN, nanWins, larger.binary(.or, valueIsNaN))
  }

  static func nextPowerOfTwo(_ value: Int) -> Int {
    var power = 1
    while power < value { power *= 2 }
    return power
  }
}
