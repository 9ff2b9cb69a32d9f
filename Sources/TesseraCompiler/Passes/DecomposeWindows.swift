import TesseraIR

/// Decomposition of the sliding-window ops and `pad` into core ops (`decompose-windows`). The
/// compiler runs this first for every target, keeping whole the window ops the target has kernels
/// of its own for (``TargetCapabilities/windowKernels``: `conv2d` and pooling on `cpu`):
///
/// - `pad` concatenates `broadcast` scalars before and after the operand along each padded axis
///   (`constant`), or `gather`s clamped (`edge`) or mirrored (`reflect`) indices.
/// - `conv2d` pads with zeros, takes one strided `slice` per kernel tap, stacks the taps into the
///   im2col matrix `[N, groups, C/groups·kh·kw, OH·OW]` (`reshape`, `concat`), multiplies the
///   weights reshaped to `[groups, O/groups, C/groups·kh·kw]` (`matmul`) and reshapes the product
///   to `[N, O, OH, OW]`.
/// - `max_pool2d` pads with -inf (also past the end where `ceil_mode` reaches further) and takes
///   the `max` of the tap slices; `avg_pool2d` pads with zeros, adds the tap slices and divides by
///   a constant holding each window's count.
public struct DecomposeWindows: GraphPass {
  /// `decompose-windows`.
  public let name = "decompose-windows"

  /// Window ops left as they are.
  public let kept: Set<OpKind>

  /// Creates the pass; it leaves the ops in `kept` whole.
  public init(keeping kept: Set<OpKind> = []) {
    self.kept = kept
  }

  /// Whether `graph` has an op this pass rewrites when it keeps `kept`.
  public static func applies(to graph: Graph, keeping kept: Set<OpKind> = []) -> Bool {
    graph.nodes.contains { $0.kind.family == .window && !kept.contains($0.kind) }
  }

  /// Replaces every window op and `pad` not kept by its expansion; the last op keeps the original
  /// result.
  public func run(_ graph: Graph) -> Graph {
    GraphRewriter.rewrite(graph) { rewriter, node in
      guard node.kind.family == .window, !kept.contains(node.kind) else { return .keep(node) }
      var expansion = Expansion(rewriter: rewriter, hint: rewriter.graph[node.result].name)
      let last = expansion.lastOp(of: node)
      rewriter = expansion.rewriter
      return .keep(Node(kind: last.kind, operands: last.operands, attributes: last.attributes, result: node.result))
    }
  }
}

/// The ops of one expansion, emitted into `rewriter`; the last one is returned, not emitted.
private struct Expansion {
  /// An op not yet emitted.
  struct Op {
    var kind: OpKind
    var operands: [ValueID]
    var attributes: Attributes = [:]
  }

  var rewriter: GraphRewriter
  let hint: String

  func type(of value: ValueID) -> TensorType { rewriter.type(of: value) }

  mutating func emit(_ kind: OpKind, _ operands: [ValueID], _ attributes: Attributes = [:]) -> ValueID {
    rewriter.emit(kind, operands, attributes: attributes, hint: "\(hint).\(kind)")
  }

  mutating func emit(_ op: Op) -> ValueID { emit(op.kind, op.operands, op.attributes) }

  mutating func constant(_ tensor: Tensor) -> ValueID {
    rewriter.emit(.constant, [], literal: tensor, hint: "\(hint).c")
  }

  mutating func reshape(_ value: ValueID, _ dims: [Int]) -> ValueID {
    type(of: value).shape.dims == dims ? value : emit(.reshape, [value], ["shape": .ints(dims)])
  }

  mutating func lastOp(of node: Node) -> Op {
    let x = node.operands[0]
    switch node.kind {
    case .conv2d: return convolution(x, node.operands[1], node.attributes)
    case .maxPool2d, .avgPool2d: return pooling(node.kind, x, node.attributes)
    default:
      let pads = node.attributes.ints("pads") ?? []
      let mode = PadMode(rawValue: node.attributes.symbol("mode") ?? "constant") ?? .constant
      return pad(
        x, begins: Array(pads.prefix(pads.count / 2)), ends: Array(pads.suffix(pads.count / 2)),
        mode: mode, value: node.attributes.double("value") ?? 0)
    }
  }

  // MARK: - Convolution and pooling

  private mutating func convolution(_ x: ValueID, _ w: ValueID, _ attributes: Attributes) -> Op {
    let dims = type(of: x).shape.dims
    let kernelDims = type(of: w).shape.dims
    let geometry = WindowGeometry(verified: attributes, input: type(of: x).shape, kernel: Array(kernelDims[2...]))
    let groups = attributes.int("groups") ?? 1
    let (batch, outputs, perGroup) = (dims[0], kernelDims[0], kernelDims[1])
    let taps = tapSlices(x, geometry, padValue: 0)
    let windows = geometry.height.output * geometry.width.output
    let stacked =
      taps.count == 1
      ? taps[0] : emit(.concat, taps.map { reshape($0, [batch, dims[1], 1, windows]) }, ["axis": .int(2)])
    let groupDims = groups == 1 ? [] : [groups]
    let columns = reshape(stacked, [batch] + groupDims + [perGroup * taps.count, windows])
    let weights = reshape(w, groupDims + [outputs / groups, perGroup * taps.count])
    let product = emit(.matmul, [weights, columns])
    return Op(
      kind: .reshape, operands: [product],
      attributes: ["shape": .ints([batch, outputs, geometry.height.output, geometry.width.output])])
  }

  private mutating func pooling(_ kind: OpKind, _ x: ValueID, _ attributes: Attributes) -> Op {
    let xType = type(of: x)
    let geometry = WindowGeometry(verified: attributes, input: xType.shape, kernel: attributes.ints("kernel") ?? [])
    let isMax = kind == .maxPool2d
    let taps = tapSlices(x, geometry, padValue: isMax ? -.infinity : 0)
    var combined = taps[0]
    for tap in taps.dropFirst().dropLast() { combined = emit(isMax ? .max : .add, [combined, tap]) }
    if isMax {
      return taps.count == 1
        ? Op(kind: .reshape, operands: [combined], attributes: ["shape": .ints(type(of: combined).shape.dims)])
        : Op(kind: .max, operands: [combined, taps.last!])
    }
    if taps.count > 1 { combined = emit(.add, [combined, taps.last!]) }
    let includePadding = attributes.bool("count_include_pad") ?? false
    let (rows, columns) = (geometry.height, geometry.width)
    var counts: [Double] = []
    for oy in 0..<rows.output {
      for ox in 0..<columns.output {
        counts.append(
          Double(
            rows.count(window: oy, includingPadding: includePadding)
              * columns.count(window: ox, includingPadding: includePadding)))
      }
    }
    let divisor = constant(Tensor(counts, shape: [rows.output, columns.output], dtype: xType.dtype))
    return Op(kind: .div, operands: [combined, divisor])
  }

  /// The input under each kernel tap, `[N, C, OH, OW]` each, taps in row-major kernel order: the
  /// padded input (padded past the end as far as the last window reaches) sliced with the strides.
  private mutating func tapSlices(_ x: ValueID, _ geometry: WindowGeometry, padValue: Double) -> [ValueID] {
    let (rows, columns) = (geometry.height, geometry.width)
    let dims = type(of: x).shape.dims
    let begins = [0, 0, rows.padBegin, columns.padBegin]
    let ends = [0, 0, Swift.max(rows.reachPastEnd, 0), Swift.max(columns.reachPastEnd, 0)]
    let padded =
      begins.allSatisfy { $0 == 0 } && ends.allSatisfy { $0 == 0 }
      ? x : emit(pad(x, begins: begins, ends: ends, mode: .constant, value: padValue))
    let paddedDims = type(of: padded).shape.dims
    var taps: [ValueID] = []
    for ky in 0..<rows.kernel {
      for kx in 0..<columns.kernel {
        let (top, left) = (ky * rows.dilation, kx * columns.dilation)
        let bottom = top + (rows.output - 1) * rows.stride + 1
        let right = left + (columns.output - 1) * columns.stride + 1
        let whole = top == 0 && left == 0 && bottom == paddedDims[2] && right == paddedDims[3]
        taps.append(
          whole && rows.stride == 1 && columns.stride == 1
            ? padded
            : emit(
              .slice, [padded],
              [
                "start": .ints([0, 0, top, left]), "end": .ints([dims[0], dims[1], bottom, right]),
                "step": .ints([1, 1, rows.stride, columns.stride]),
              ]))
      }
    }
    return taps
  }

  // MARK: - Padding

  /// `pad` one axis at a time; the last padded axis's op is returned (an identity `reshape` when
  /// nothing is padded).
  private mutating func pad(_ x: ValueID, begins: [Int], ends: [Int], mode: PadMode, value: Double) -> Op {
    let axes = begins.indices.filter { begins[$0] > 0 || ends[$0] > 0 }
    guard let lastAxis = axes.last else {
      return Op(kind: .reshape, operands: [x], attributes: ["shape": .ints(type(of: x).shape.dims)])
    }
    var current = x
    for axis in axes {
      let op = padAxis(current, axis: axis, begin: begins[axis], end: ends[axis], mode: mode, value: value)
      if axis == lastAxis { return op }
      current = emit(op)
    }
    preconditionFailure("unreachable: the last padded axis returns")
  }

  private mutating func padAxis(_ x: ValueID, axis: Int, begin: Int, end: Int, mode: PadMode, value: Double) -> Op {
    let xType = type(of: x)
    let size = xType.shape.dims[axis]
    guard mode == .constant else {
      let indices = (0..<(begin + size + end)).map { Double(mode.source(of: $0, begin: begin, size: size)!) }
      let table = constant(Tensor(indices, shape: [indices.count], dtype: .i32))
      return Op(kind: .gather, operands: [x, table], attributes: ["axis": .int(axis)])
    }
    let fill = constant(Tensor([value], shape: [], dtype: xType.dtype))
    func block(_ length: Int) -> ValueID {
      var dims = xType.shape.dims
      dims[axis] = length
      return emit(.broadcast, [fill], ["shape": .ints(dims)])
    }
    let ordered = (begin > 0 ? [block(begin)] : []) + [x] + (end > 0 ? [block(end)] : [])
    return Op(kind: .concat, operands: ordered, attributes: ["axis": .int(axis)])
  }
}
