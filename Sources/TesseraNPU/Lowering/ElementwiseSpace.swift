import TesseraCompiler
import TesseraIR

/// The iteration space an elementwise group is tiled over: the root's own shape, or, when the
/// root transposes another member of the group, that member's shape, with the result stored
/// through permuted strides. Iterating in the operand's order keeps what the group reads in
/// order (`transpose(dequantize(W))`, the form every Llama weight takes, dequantizes whole
/// blocks of `W` and writes the tile transposed) where the root's order would read the weight
/// across its blocks.
struct ElementwiseSpace {
  /// The value whose coordinates are the iteration space.
  let value: ValueID
  /// Its shape.
  let shape: Shape
  /// Identity coordinates over `shape`.
  let coordinates: [Affine]
  /// Elements each axis of the space advances in the root.
  let outputStrides: [Int]

  /// The space of `group`.
  init(_ group: FusedGroup, in graph: Graph) {
    let rootShape = graph.type(of: group.root).shape
    let members = group.nodes.map { graph.nodes[$0] }
    var value = group.root
    var strides = rootShape.strides
    if let root = members.first(where: { $0.result == group.root }), root.kind == .transpose,
      members.contains(where: { $0.result == root.operands[0] })
    {
      let perm = root.attributes.ints("perm") ?? Array((0..<rootShape.rank).reversed())
      value = root.operands[0]
      // Root axis `axis` reads operand axis `perm[axis]`.
      strides = [Int](repeating: 0, count: rootShape.rank)
      for (axis, from) in perm.enumerated() { strides[from] = rootShape.strides[axis] }
    }
    let shape = graph.type(of: value).shape
    self.value = value
    self.shape = shape
    coordinates = (0..<shape.rank).map { Affine.axis($0, rank: shape.rank) }
    outputStrides = strides
  }
}
