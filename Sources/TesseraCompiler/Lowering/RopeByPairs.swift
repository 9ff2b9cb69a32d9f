import TesseraIR

extension KernelGenerator {
  /// The group's `rope` of rank 2 or more whose result, or a reshape of it, is the in-place
  /// `update_slice` `node`'s update (the Llama graphs write `reshape(rope(k))` into the keys'
  /// cache); `nil` otherwise.
  static func ropeUpdate(of node: Node, _ emitter: GroupEmitter) -> Node? {
    var update = emitter.member(defining: node.operands[1])
    if update?.kind == .reshape { update = emitter.member(defining: update!.operands[0]) }
    guard let rope = update, rope.kind == .rope, emitter.graph.type(of: rope.result).shape.rank >= 2 else { return nil }
    return rope
  }

  /// An `update_slice` in place whose update is the group's `rope` (``ropeUpdate(of:_:)``: a
  /// decode step's keys written into their cache with RoPE,
  /// ``TargetCapabilities/computesCacheUpdates``): the rope by pairs (``ropeByPairs(_:_:_:fits:place:)``),
  /// each element stored at its place in the base; nothing is written when the start is out of
  /// range.
  static func ropeUpdateInPlace(_ node: Node, rope: Node, _ emitter: GroupEmitter, _ output: KBufferRef) {
    let graph = emitter.graph
    let shape = graph.type(of: rope.result).shape
    let (start, fits) = updateStart(node, emitter)
    // Where the update is a reshape of the rope, an element's place follows its flat index.
    let updateShape = graph.type(of: node.operands[1]).shape
    ropeByPairs(rope, emitter, output, fits: fits) { at in
      let coordinates =
        updateShape == shape ? at : emitter.coordinates(of: emitter.linear(at, in: shape), in: updateShape)
      return inPlaceIndex(node, of: coordinates, start: start, emitter)
    }
  }

  /// Whether a group whose root is `node` is a rope computed by pairs (``ropeRoot(_:_:_:)``): a
  /// `rope` of rank 2 or more, alone too: the library's rope takes its shape at run time and a
  /// `pow` per pair (SmolLM2's queries in a decode step on PoCL: 5.5–5.6 µs, by pairs here
  /// 2.2–2.3).
  static func ropesByPairs(_ node: Node, in graph: Graph) -> Bool {
    node.kind == .rope && graph.type(of: node.result).shape.rank >= 2
  }

  /// A group whose root is a `rope` of rank 2 or more (a decode step's queries): the rope by
  /// pairs (``ropeByPairs(_:_:_:fits:place:)``), each element stored at its flat index.
  static func ropeRoot(_ rope: Node, _ emitter: GroupEmitter, _ output: KBufferRef) {
    let shape = emitter.graph.type(of: rope.result).shape
    ropeByPairs(rope, emitter, output, fits: nil) { emitter.linear($0, in: shape) }
  }

  /// The group's `rope` of rank 2 or more, one work-item per pair of each row of heads: it takes
  /// the pair's cosine and sine once and turns that pair of every head, storing both of its
  /// elements in `output` at `place(coordinates)` (where `fits`, when given). The same arithmetic
  /// as the rope element by element (GroupEmitter's), whose every element computes its pair's
  /// angle again (here once a pair for all the heads).
  private static func ropeByPairs(
    _ rope: Node, _ emitter: GroupEmitter, _ output: KBufferRef, fits: KExpr?, place: ([KExpr]) -> KExpr
  ) {
    let k = emitter.builder, graph = emitter.graph
    let shape = graph.type(of: rope.result).shape
    // `[…, heads, dim]` from rank 3, `[rows, dim]` at rank 2 (the position is the row's).
    let hasHeads = shape.rank >= 3
    let (heads, dim) = (hasHeads ? shape.dims[shape.rank - 2] : 1, shape.dims.last!)
    let neox = rope.attributes.symbol("mode") == "neox", dtype = graph.type(of: rope.result).dtype
    let rows = shape.count / (heads * dim), pairs = dim / 2
    k.launch(global: [.constant(rows * pairs)], workgroup: [elementsPerGroup])
    let flat = k.globalID(0)
    let inRange = flat.lt(emitter.index(rows * pairs))
    k.if(fits.map { inRange.and($0) } ?? inRange) {
      emitter.scoped {
        let row = flat / emitter.index(pairs), pair = flat % emitter.index(pairs)
        let leading = Shape(Array(shape.dims.dropLast(hasHeads ? 2 : 1)))
        let outer = emitter.coordinates(of: row, in: leading)
        let (first, second) =
          neox
          ? (pair, pair + emitter.index(pairs)) : (pair * emitter.index(2), pair * emitter.index(2) + emitter.index(1))
        let head = { (h: KExpr) in hasHeads ? outer + [h] : outer }
        let (cosine, sine) = emitter.ropeRotation(rope, pair: pair, at: head(emitter.index(0)) + [first])
        k.loop(from: emitter.index(0), to: emitter.index(heads), step: 1) { h in
          emitter.scoped {
            let (at, partner) = (head(h) + [first], head(h) + [second])
            let x = emitter.value(rope.operands[0], at: at).cast(.f32)
            let y = emitter.value(rope.operands[0], at: partner).cast(.f32)
            output[place(at)] = (x * cosine - y * sine).cast(dtype)
            output[place(partner)] = (x * sine + y * cosine).cast(dtype)
          }
        }
      }
    }
  }
}
