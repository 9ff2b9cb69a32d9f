import TesseraIR

/// Generates the kernel of one fused group: per-element kernels for elementwise chains, workgroup
/// tree reductions with prologue and epilogue, a per-element matmul or convolution with epilogue,
/// pooling (``convolution(_:at:_:)``, ``pooling(_:at:_:)``) and concat.
/// The root's buffer comes first in every generated kernel, then the inputs in first-use order.
enum KernelGenerator {
  /// Work-items per workgroup for per-element kernels.
  static let elementsPerGroup = 64

  /// Elements of the attention kernel's vectors on targets whose work-items run as plain SIMD
  /// code (``TargetCapabilities/streamsQuantizedRows``: CPU drivers): one 512-bit register.
  static let attentionVectorLanes = 16

  /// `definingNode` is `graph.definingNode`, computed once for all the groups of a graph. A
  /// matmul group given `quantizedWeights` (its matmuls with the weight each reads:
  /// ``quantizedWeight(of:in:definingNode:)``) and the workgroup shape for the target reads them
  /// in place instead of their dequantized transposes. An attention group's kernel takes
  /// `attentionLanes` work-items a row of scores, and vectors of `attentionVectorLanes` elements
  /// where its operands allow them (``attention(_:lanes:vectorLanes:_:_:)``).
  static func generate(
    _ group: FusedGroup, in graph: Graph, name: String, definingNode: [ValueID: Int],
    quantizedWeights: [(core: Node, weight: ValueID)] = [], quantizedShape: QuantizedMatmulShape? = nil,
    attentionLanes: Int = reductionLanes, attentionVectorLanes: Int? = nil
  ) throws(CompileError) -> KernelCall {
    let root = graph.nodes[group.nodes.last!]
    let comment = group.nodes.map { "\(graph.nodes[$0].kind) %\(graph[graph.nodes[$0].result].name)" }.joined(
      separator: ", ")
    let builder = KernelBuilder(name: name, comment: comment)
    let output = builder.buffer("out", graph.type(of: group.root).dtype, .write)
    let emitter = GroupEmitter(graph: graph, group: group, builder: builder, definingNode: definingNode)
    switch group.kind {
    case .reduction:
      let core = graph.nodes[group.nodes.first { graph.nodes[$0].kind.family == .reduction }!]
      reduction(core, root: group.root, emitter, output)
    case .matmul:
      let core = graph.nodes[group.nodes.first { Fusion.isProduct(graph.nodes[$0]) }!]
      if core.kind == .conv2d {
        perElement(group.root, emitter, output) { coordinates in convolution(core, at: coordinates, emitter) }
      } else if let shape = quantizedShape, !quantizedWeights.isEmpty {
        quantizedMatmul(quantizedWeights, shape: shape, root: group.root, emitter, output)
      } else {
        perElement(group.root, emitter, output) { coordinates in matmul(core, at: coordinates, emitter) }
      }
    case .library where root.kind == .maxPool2d || root.kind == .avgPool2d:
      perElement(group.root, emitter, output) { coordinates in pooling(root, at: coordinates, emitter) }
    case .library where root.kind == .concat:
      perElement(group.root, emitter, output) { coordinates in concat(root, at: coordinates, emitter, output) }
    case .library where root.kind == .updateSlice && UpdateSlice.inPlaceBase(of: root, in: graph) != nil:
      updateInPlace(root, emitter, output)
    case .library where root.kind == .updateSlice:
      perElement(group.root, emitter, output) { coordinates in updateSlice(root, at: coordinates, emitter) }
    case .elementwise where ropesByPairs(root, in: graph):
      ropeRoot(root, emitter, output)
    case .elementwise:
      perElement(group.root, emitter, output) { _ in }
    case .attention:
      attention(group, lanes: attentionLanes, vectorLanes: attentionVectorLanes, emitter, output)
    default:
      throw .noKernel(op: root.kind, detail: "no generated kernel for a \(group.kind.rawValue) group")
    }
    let kernel: Kernel
    do {
      kernel = try builder.finish()
    } catch {
      throw .invalidKernel(kernel: name, error: error)
    }
    return KernelCall(kernel: kernel, buffers: [group.root] + emitter.inputs, scalars: [:])
  }

  /// One work-item per element of `root`: `prepare` may define core values at the element's
  /// coordinates before the root is evaluated and stored.
  private static func perElement(
    _ root: ValueID, _ emitter: GroupEmitter, _ output: KBufferRef, prepare: ([KExpr]) -> Void
  ) {
    let k = emitter.builder
    let shape = emitter.graph.type(of: root).shape
    k.launch(global: [.constant(shape.count)], workgroup: [elementsPerGroup])
    let flat = k.globalID(0)
    k.if(flat.lt(emitter.index(shape.count))) {
      emitter.scoped {
        let coordinates = emitter.coordinates(of: flat, in: shape)
        prepare(coordinates)
        output[flat] = emitter.value(root, at: coordinates)
      }
    }
  }

  /// `sum_p a[…, i, p] * b[…, p, j]` for the element at `coordinates`, accumulated in f32 for
  /// floats (in the dtype for integers), defined as the matmul's value there. With
  /// `vectorLanes`, an f32 product whose operands both load that many consecutive elements of
  /// the contraction as one vector (``GroupEmitter/isVectorizable(_:axis:lanes:)``) sums vector
  /// products and then the vector's lanes.
  static func matmul(_ node: Node, at coordinates: [KExpr], _ emitter: GroupEmitter, vectorLanes: Int? = nil) {
    let graph = emitter.graph
    let a = graph.type(of: node.operands[0]), b = graph.type(of: node.operands[1])
    let layout = MatmulLayout(a.shape, b.shape)
    let resultType = graph.type(of: node.result)
    let batchRank = resultType.shape.rank - (layout.aIsVector ? 0 : 1) - (layout.bIsVector ? 0 : 1)
    let batch = Array(coordinates[..<batchRank])
    let row = layout.aIsVector ? emitter.index(0) : coordinates[batchRank]
    let column = layout.bIsVector ? emitter.index(0) : coordinates[coordinates.count - 1]
    let accumulatorType = resultType.dtype.isFloatingPoint ? DType.f32 : resultType.dtype
    func aCoordinates(_ p: KExpr) -> [KExpr] {
      emitter.broadcast(batch, to: layout.batchA) + (layout.aIsVector ? [p] : [row, p])
    }
    func bCoordinates(_ p: KExpr) -> [KExpr] {
      emitter.broadcast(batch, to: layout.batchB) + (layout.bIsVector ? [p] : [p, column])
    }
    let (aAxis, bAxis) = (a.shape.rank - 1, b.shape.rank - (layout.bIsVector ? 1 : 2))
    if let lanes = vectorLanes, accumulatorType == .f32,
      emitter.isVectorizable(node.operands[0], axis: aAxis, lanes: lanes),
      emitter.isVectorizable(node.operands[1], axis: bAxis, lanes: lanes)
    {
      let chunks = interleavedSum(count: layout.k / lanes, of: KType(.f32, lanes: lanes), emitter) { chunk in
        let p = chunk * emitter.index(lanes)
        return emitter.vector(node.operands[0], at: aCoordinates(p), axis: aAxis, lanes: lanes)
          * emitter.vector(node.operands[1], at: bCoordinates(p), axis: bAxis, lanes: lanes)
      }
      emitter.define(node.result, at: coordinates, as: chunks.reduceLanes(.add).cast(resultType.dtype))
      return
    }
    let sum = interleavedSum(count: layout.k, of: KType(accumulatorType), emitter) { p in
      emitter.value(node.operands[0], at: aCoordinates(p)).cast(accumulatorType)
        * emitter.value(node.operands[1], at: bCoordinates(p)).cast(accumulatorType)
    }
    emitter.define(node.result, at: coordinates, as: sum.cast(resultType.dtype))
  }

  /// An `update_slice` whose result takes over its base's buffer: one work-item per element of
  /// the update, each storing it at its place in the base (a rope's update of rank 2 or more: per
  /// pair, ``ropeUpdateInPlace(_:rope:_:_:)``); nothing is written when the start is out of
  /// range.
  private static func updateInPlace(_ node: Node, _ emitter: GroupEmitter, _ output: KBufferRef) {
    if let rope = ropeUpdate(of: node, emitter) {
      ropeUpdateInPlace(node, rope: rope, emitter, output)
      return
    }
    let k = emitter.builder
    let update = emitter.graph.type(of: node.operands[1]).shape
    k.launch(global: [.constant(update.count)], workgroup: [elementsPerGroup])
    let flat = k.globalID(0)
    let (start, fits) = updateStart(node, emitter)
    k.if(flat.lt(emitter.index(update.count)).and(fits)) {
      emitter.scoped {
        let coordinates = emitter.coordinates(of: flat, in: update)
        output[inPlaceIndex(node, of: coordinates, start: start, emitter)] = emitter.value(
          node.operands[1], at: coordinates)
      }
    }
  }

  /// The start of an `update_slice` along its axis (its start operand as an i32), and whether
  /// the update fits there (where it does not, the update is not written).
  static func updateStart(_ node: Node, _ emitter: GroupEmitter) -> (start: KExpr, fits: KExpr) {
    let graph = emitter.graph
    let base = graph.type(of: node.operands[0]).shape, update = graph.type(of: node.operands[1]).shape
    let axis = UpdateSlice.axis(of: node, in: graph)
    let rank = graph.type(of: node.operands[2]).shape.rank
    let start = emitter.value(node.operands[2], at: Array(repeating: emitter.index(0), count: rank)).cast(.i32)
    return (start, start.ge(emitter.index(0)).and(start.lt(emitter.index(base.dims[axis] - update.dims[axis] + 1))))
  }

  /// The flat index in an in-place `update_slice`'s base of its update's element at `coordinates`.
  static func inPlaceIndex(_ node: Node, of coordinates: [KExpr], start: KExpr, _ emitter: GroupEmitter) -> KExpr {
    let axis = UpdateSlice.axis(of: node, in: emitter.graph)
    var target = coordinates
    target[axis] = coordinates[axis] + start
    return emitter.linear(target, in: emitter.graph.type(of: node.operands[0]).shape)
  }

  /// The element of an out-of-place `update_slice` at `coordinates`: the update's inside the
  /// slab (when the start is in range), the base's elsewhere.
  private static func updateSlice(_ node: Node, at coordinates: [KExpr], _ emitter: GroupEmitter) {
    let k = emitter.builder, graph = emitter.graph
    let axis = UpdateSlice.axis(of: node, in: graph)
    let length = graph.type(of: node.operands[1]).shape.dims[axis]
    let (start, fits) = updateStart(node, emitter)
    let row = coordinates[axis] - start
    let inside = fits.and(row.ge(emitter.index(0))).and(row.lt(emitter.index(length)))
    var source = coordinates
    source[axis] = k.min(k.max(row, emitter.index(0)), emitter.index(length - 1))
    let value = k.select(
      inside, emitter.value(node.operands[1], at: source), emitter.value(node.operands[0], at: coordinates))
    emitter.define(node.result, at: coordinates, as: value)
  }

  /// The element of a concat at `coordinates`: an if-chain over the operands' ranges.
  private static func concat(_ node: Node, at coordinates: [KExpr], _ emitter: GroupEmitter, _ output: KBufferRef) {
    let k = emitter.builder, graph = emitter.graph
    let type = graph.type(of: node.result)
    let axis = type.shape.normalizedAxis(node.attributes.int("axis")!)!
    let result = k.variable(k.constant(0, KType(type.dtype)))
    var offset = 0
    for operand in node.operands {
      let size = graph.type(of: operand).shape.dims[axis]
      let start = offset
      let within = coordinates[axis].ge(emitter.index(start)).and(coordinates[axis].lt(emitter.index(start + size)))
      k.if(within) {
        emitter.scoped {
          var source = coordinates
          source[axis] = coordinates[axis] - emitter.index(start)
          result.value = emitter.value(operand, at: source)
        }
      }
      offset += size
    }
    emitter.define(node.result, at: coordinates, as: result.value)
  }
}
