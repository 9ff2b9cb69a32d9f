import TesseraIR

/// How far a fused attention kernel's loops over the keys go
/// (``KernelGenerator/attention(_:lanes:vectorLanes:_:_:)``): a decode step's mask shows the keys
/// written so far, and the kernel reads no others.
extension KernelGenerator {
  /// The mask that shows each key up to a position known at run time and hides the rest behind
  /// `-inf` (a decode step's `visible = rows ≤ position`, the rows a constant `0, 1, 2, …` along
  /// the keys), where the masked scores are such a select (or a chain of them, each hiding with
  /// `-inf`). A hidden key's weight is exactly 0, so the kernel's loops may stop at the first
  /// hidden key: a decode step reads the keys written so far, not the whole cache.
  static func visibleKeys(_ parts: AttentionFusion.Parts, in graph: Graph) -> ValueID? {
    let defining = graph.definingNode
    func node(_ value: ValueID) -> Node? { defining[value].map { graph.nodes[$0] } }
    // A constant's elements, where `value` is one (not quantized).
    func constant(_ value: ValueID) -> [Double]? {
      guard let literal = node(value)?.literal, !literal.dtype.isQuantized else { return nil }
      return literal.doubles
    }
    func isNegativeInfinity(_ value: ValueID) -> Bool { constant(value)?.allSatisfy { $0 == -.infinity } ?? false }
    func isKeyIndex(_ value: ValueID) -> Bool {
      graph.type(of: value).shape.dims.dropLast().allSatisfy { $0 == 1 }
        && (constant(value)?.enumerated().allSatisfy { Double($0) == $1 } ?? false)
    }
    func isPosition(_ value: ValueID) -> Bool { graph.type(of: value).shape.count == 1 }
    func showsKeysUpToAPosition(_ condition: ValueID) -> Bool {
      guard let compare = node(condition), compare.kind == .compare else { return false }
      let (a, b) = (compare.operands[0], compare.operands[1])
      switch compare.attributes.symbol("kind") {
      case "le": return isKeyIndex(a) && isPosition(b)
      case "ge": return isPosition(a) && isKeyIndex(b)
      default: return false
      }
    }
    let keys = graph.type(of: parts.masked).shape.dims.last!
    var masked = parts.masked
    while let select = node(masked), select.kind == .select, isNegativeInfinity(select.operands[2]) {
      let condition = select.operands[0]
      if graph.type(of: condition).shape.dims.last == keys, showsKeysUpToAPosition(condition) { return condition }
      masked = select.operands[1]
    }
    return nil
  }

  /// The index of row `row`'s first key that `visible` (``visibleKeys(_:in:)``) hides, or `keys`:
  /// a binary search, `visible` being true up to a key and false after it.
  static func firstHidden(
    by visible: ValueID, row: KExpr, keys: Int, _ parts: AttentionFusion.Parts, _ emitter: GroupEmitter
  ) -> KExpr {
    let k = emitter.builder, graph = emitter.graph
    let maskedShape = graph.type(of: parts.masked).shape, visibleShape = graph.type(of: visible).shape
    var (low, high) = (emitter.index(0), emitter.index(keys))  // keys before `low` shown, from `high` hidden
    let rowStart = row * emitter.index(keys)
    var span = keys
    while span > 0 {
      emitter.scoped {
        let middle = (low + high) / emitter.index(2)
        let at = emitter.coordinates(of: rowStart + k.min(middle, emitter.index(keys - 1)), in: maskedShape)
        let shown = emitter.value(visible, at: emitter.broadcast(at, to: visibleShape))
        let searching = low.lt(high)
        (low, high) = (
          k.select(searching, k.select(shown, middle + emitter.index(1), low), low),
          k.select(searching, k.select(shown, high, middle), high)
        )
      }
      span /= 2
    }
    return low
  }
}
