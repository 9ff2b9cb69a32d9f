import TesseraIR

/// An element-strided view of a buffer: which element `(i0, i1, …)` of `dims` reads is
/// `offset + Σ i_k · strides[k]`. A chain of reshape / transpose / slice / broadcast over a
/// contiguous buffer is such a view whenever every reshape applies to a contiguous view, so the
/// chain needs no copy: a kernel reads through the view.
struct StridedView: Sendable, Hashable {
  var offset: Int
  var dims: [Int]
  var strides: [Int]

  /// The contiguous (C order) view of `shape`.
  init(contiguous shape: Shape, offset: Int = 0) {
    self.offset = offset
    dims = shape.dims
    strides = shape.strides
  }

  /// Whether it reads its elements in C order without gaps.
  var isContiguous: Bool { strides == Shape(dims).strides || dims.contains(0) }

  /// The view of `value` reached through the movement nodes of `inside` (node index by result),
  /// from a value defined outside them; nil when some step is not a strided view.
  static func of(_ value: ValueID, in graph: Graph, inside: [ValueID: Int]) -> (source: ValueID, view: StridedView)? {
    guard let index = inside[value] else { return (value, StridedView(contiguous: graph.type(of: value).shape)) }
    let node = graph.nodes[index]
    let shape = graph.type(of: node.result).shape
    guard [.reshape, .transpose, .slice, .broadcast].contains(node.kind),
      let (source, operandView) = of(node.operands[0], in: graph, inside: inside)
    else { return nil }
    var view = operandView
    switch node.kind {
    case .reshape:
      guard view.isContiguous else { return nil }
      view = StridedView(contiguous: shape, offset: view.offset)
    case .transpose:
      let perm = node.attributes.ints("perm") ?? Array((0..<view.dims.count).reversed())
      view = StridedView(offset: view.offset, dims: perm.map { view.dims[$0] }, strides: perm.map { view.strides[$0] })
    case .slice:
      let start = node.attributes.ints("start") ?? [], step = node.attributes.ints("step") ?? view.dims.map { _ in 1 }
      guard start.count == view.dims.count, step.count == view.dims.count else { return nil }
      view = StridedView(
        offset: view.offset + zip(start, view.strides).map(*).reduce(0, +), dims: shape.dims,
        strides: zip(view.strides, step).map(*))
    default:
      view = view.broadcast(to: shape.dims)
    }
    return (source, view)
  }

  /// The element offset of row `row` (counting over every axis but the last, in C order).
  func start(ofRow row: Int) -> Int {
    var rest = row, start = offset
    for axis in stride(from: dims.count - 2, through: 0, by: -1) {
      start += rest % dims[axis] * strides[axis]
      rest /= dims[axis]
    }
    return start
  }

  /// The view broadcast (numpy rules, right-aligned) to `target`: size-1 or missing axes read
  /// the same element again (stride 0).
  func broadcast(to target: [Int]) -> StridedView {
    let lead = target.count - dims.count
    let strides = target.indices.map { axis in
      axis < lead || dims[axis - lead] == 1 ? 0 : self.strides[axis - lead]
    }
    return StridedView(offset: offset, dims: target, strides: strides)
  }

  private init(offset: Int, dims: [Int], strides: [Int]) {
    self.offset = offset
    self.dims = dims
    self.strides = strides
  }
}
