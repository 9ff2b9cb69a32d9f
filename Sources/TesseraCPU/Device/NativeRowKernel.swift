import TesseraCompiler
import TesseraIR

/// A single-node group that ``RowKernels`` runs natively: softmax over the last axis, rms_norm
/// over the last axis with a `[size]` weight, layer_norm over the last axis with an optional
/// `[size]` weight and bias (all `library` groups), or a lone rope (fusible, so
/// an `elementwise` group of one node), all on f32. Other groups (other axes, layouts or dtypes,
/// a rope fused with its neighbours) run their kernel on the vectorised KIR executor.
struct NativeRowKernel: Sendable {
  /// What it computes.
  enum Operation: Sendable {
    case softmax
    case rmsNorm(epsilon: Float)
    case layerNorm(epsilon: Double)
    /// Rope over `outer` independent `[sequence, heads, dim]` blocks.
    case rope(outer: Int, sequence: Int, heads: Int, theta: Double, neox: Bool)
  }

  let operation: Operation
  let operands: [ValueID]
  /// Rows of the last axis, and its length.
  let rows: Int, width: Int

  /// Recognises `group`, or returns nil.
  init?(_ group: FusedGroup, in graph: Graph) {
    guard group.kind == .library || group.kind == .elementwise, group.nodes.count == 1 else { return nil }
    let node = graph.nodes[group.nodes[0]]
    let types = node.operands.map(graph.type(of:))
    let x = types[0].shape
    guard types[0].dtype == .f32, graph.type(of: node.result).dtype == .f32, x.rank >= 1, x.count > 0 else {
      return nil
    }
    let width = x.dims[x.rank - 1]
    let lastAxis = x.normalizedAxis(node.attributes.int("axis") ?? -1) == x.rank - 1
    switch node.kind {
    case .softmax where lastAxis:
      operation = .softmax
    case .rmsNorm where lastAxis && types.count == 2 && types[1].dtype == .f32 && types[1].shape == [width]:
      operation = .rmsNorm(epsilon: Float(node.attributes.double("epsilon") ?? 1e-6))
    case .layerNorm where lastAxis && types.dropFirst().allSatisfy({ $0.dtype == .f32 && $0.shape == [width] }):
      operation = .layerNorm(epsilon: node.attributes.double("epsilon") ?? 1e-5)
    case .rope where x.rank >= 2 && types[1].dtype == .i32:
      let sequence = x.dims[TypeInference.ropeSequenceAxis(rank: x.rank)]
      let heads = x.rank >= 3 ? x.dims[x.rank - 2] : 1
      operation = .rope(
        outer: x.count / (sequence * heads * width), sequence: sequence, heads: heads,
        theta: node.attributes.double("theta") ?? 10000, neox: node.attributes.symbol("mode") == "neox")
    default:
      return nil
    }
    operands = node.operands
    rows = x.count / width
    self.width = width
  }

  /// Runs it: `pointer(value)` gives each operand's memory, `output` the root's.
  func run(output: UnsafeMutableRawPointer, pointer: (ValueID) -> UnsafeMutableRawPointer, pool: CPUThreadPool) {
    let x = UnsafePointer(pointer(operands[0]).assumingMemoryBound(to: Float.self))
    let out = output.assumingMemoryBound(to: Float.self)
    switch operation {
    case .softmax:
      RowKernels.softmax(x, out, rows: rows, width: width, pool: pool)
    case .rmsNorm(let epsilon):
      let weight = UnsafePointer(pointer(operands[1]).assumingMemoryBound(to: Float.self))
      RowKernels.rmsNorm(x, weight: weight, out, rows: rows, width: width, epsilon: epsilon, pool: pool)
    case .layerNorm(let epsilon):
      let (weight, bias) = (operand(1, pointer), operand(2, pointer))
      RowKernels.layerNorm(x, weight: weight, bias: bias, out, rows: rows, width: width, epsilon: epsilon, pool: pool)
    case .rope(let outer, let sequence, let heads, let theta, let neox):
      if UnsafePointer(out) != x { out.update(from: x, count: rows * width) }
      let positions = UnsafePointer(pointer(operands[1]).assumingMemoryBound(to: Int32.self))
      let block = sequence * heads * width
      for index in 0..<outer {
        RowKernels.rope(
          out + index * block, sequence: sequence, heads: heads, dim: width, positions: positions, theta: theta,
          neox: neox)
      }
    }
  }

  /// Operand `index` as f32 memory, or nil when the node has fewer operands.
  private func operand(_ index: Int, _ pointer: (ValueID) -> UnsafeMutableRawPointer) -> UnsafePointer<Float>? {
    index < operands.count ? UnsafePointer(pointer(operands[index]).assumingMemoryBound(to: Float.self)) : nil
  }
}
