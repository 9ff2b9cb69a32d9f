import TesseraIR

/// The elementwise chain a native gather group applies to the rows it looked up, in graph order:
/// f32 `add`, `sub`, `mul` and `div` steps, each reading the running value once (on either side)
/// and one other operand: a value from outside the group broadcast to the result (BERT's position
/// and token-type embeddings), or a splat constant (Gemma's `√d` embedding scale). Any other
/// group shape is not native.
struct NativeGatherEpilogue: Sendable {
  /// The operand a step combines with the running value.
  enum Operand: Sendable {
    /// A value outside the group, read through its view broadcast to the result.
    case value(ValueID, StridedView)
    /// The same number for every element.
    case constant(Float)
  }

  /// One step: `current = kind(current, operand)`, or `kind(operand, current)` when
  /// ``operandFirst``.
  struct Step: Sendable {
    let kind: OpKind
    let operand: Operand
    let operandFirst: Bool
  }

  let steps: [Step]

  /// Whether it changes nothing.
  var isEmpty: Bool { steps.isEmpty }

  /// Recognises `nodes` (the group without its gather and dequantize, in graph order) as a chain
  /// from `gathered` to `root` whose every result has `gathered`'s f32 type, or returns nil.
  init?(_ nodes: [Node], after gathered: ValueID, root: ValueID, in graph: Graph) {
    let resultType = graph.type(of: gathered)
    let literals = Dictionary(nodes.compactMap { node in node.literal.map { (node.result, $0) } }) { a, _ in a }
    let inside = Set(nodes.map(\.result))
    var current = gathered, steps: [Step] = []
    for node in nodes where node.literal == nil {
      guard [.add, .sub, .mul, .div].contains(node.kind), node.operands.count == 2,
        node.operands.count(where: { $0 == current }) == 1, graph.type(of: node.result) == resultType
      else { return nil }
      let operandFirst = node.operands[1] == current
      let other = operandFirst ? node.operands[0] : node.operands[1]
      let operandType = graph.type(of: other)
      guard operandType.dtype == .f32, operandType.shape.rank <= resultType.shape.rank else { return nil }
      let operand: Operand
      if let literal = literals[other] {
        guard Set(literal.doubles).count == 1 else { return nil }
        operand = .constant(Float(literal.doubles[0]))
      } else if !inside.contains(other) {
        operand = .value(other, StridedView(contiguous: operandType.shape).broadcast(to: resultType.shape.dims))
      } else {
        return nil
      }
      steps.append(Step(kind: node.kind, operand: operand, operandFirst: operandFirst))
      current = node.result
    }
    guard current == root else { return nil }
    self.steps = steps
  }

  /// The values its steps read, resolved to memory by `pointer` (nil for a constant).
  func sources(_ pointer: (ValueID) -> UnsafeMutableRawPointer) -> [UnsafePointer<Float>?] {
    steps.map { step in
      guard case .value(let value, _) = step.operand else { return nil }
      return UnsafePointer(pointer(value).assumingMemoryBound(to: Float.self))
    }
  }

  /// Applies every step to `row` of the result (all axes but the last), `width` elements at
  /// `out`; `sources` are ``sources(_:)``'s pointers.
  func apply(row: Int, width: Int, out: UnsafeMutablePointer<Float>, sources: [UnsafePointer<Float>?]) {
    for (step, source) in zip(steps, sources) {
      switch step.operand {
      case .constant(var number):
        Self.combine(step, out, &number, stride: 0, width)
      case .value(_, let view):
        Self.combine(step, out, source! + view.start(ofRow: row), stride: view.strides.last!, width)
      }
    }
  }

  /// `out[j] = kind(out[j], operand[j · stride])` (operands swapped when the operand comes
  /// first), through ``StridedBinaryLoop``.
  @inline(__always)
  private static func combine(
    _ step: Step, _ out: UnsafeMutablePointer<Float>, _ operand: UnsafePointer<Float>, stride: Int, _ width: Int
  ) {
    let current = UnsafePointer(out)
    switch (step.kind, step.operandFirst) {
    case (.add, _): StridedBinaryLoop.run(out, current, 1, operand, stride, width, +)
    case (.mul, _): StridedBinaryLoop.run(out, current, 1, operand, stride, width, *)
    case (.sub, false): StridedBinaryLoop.run(out, current, 1, operand, stride, width, -)
    case (.sub, true): StridedBinaryLoop.run(out, operand, stride, current, 1, width, -)
    case (.div, false): StridedBinaryLoop.run(out, current, 1, operand, stride, width, /)
    default: StridedBinaryLoop.run(out, operand, stride, current, 1, width, /)
    }
  }
}
