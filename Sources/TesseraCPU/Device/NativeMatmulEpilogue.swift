import TesseraIR

extension NativeMatmul {
  /// The elementwise chain a matmul group applies to the product, as graph values:
  /// `activation(scale * product + bias + rowBias) * gateActivation(gate) + residual`, each part
  /// optional and in that order, or `activation(scale * product + bias + rowBias + residual)`
  /// (a convolution's residual block). `scale` is one f32 (`[]` or `[1]`: a value, or a constant
  /// fused into the group), `bias` is `[n]`, `rowBias` is `[m, 1]` (leading 1s allowed; for a
  /// native convolution `[O, 1, 1]`, a bias per output channel); `gate` and `residual` have the
  /// result's shape; `gateActivation`
  /// comes from a relu/silu/gelu node inside the group whose input is outside it (the SwiGLU
  /// `silu(x·Wg) * (x·Wu)`). Any other group shape is not native.
  struct Epilogue: Sendable {
    /// Where the scale comes from.
    enum Scale: Sendable {
      case constant(Float)
      case value(ValueID)
    }

    var scale: Scale?
    var bias: ValueID?
    var rowBias: ValueID?
    var activation = GEMMActivation.identity
    var gate: ValueID?
    var gateActivation = GEMMActivation.identity
    var residual: ValueID?
    var residualBeforeActivation = false
    /// A bias per row of ``residual`` (an off-chain `add` of `[m, 1]` to it inside the group: a
    /// downsampling convolution's bias), or nil.
    var residualRowBias: ValueID?

    /// How the product's elements form the `rows × columns` matrix (per batch element) the
    /// epilogue walks.
    struct ProductShape {
      /// Rows and columns of each batch element's product.
      var rows: Int, columns: Int
      /// Axes of the result after the rows' axis (1 for a matmul's `[…, m, n]`, 2 for a
      /// convolution's `[N, O, OH, OW]`): a bias per row has this many trailing 1s.
      var axesAfterRows: Int
      /// Whether a bias `[columns]` may join (B is not a vector).
      var takesColumnBias = false
      /// Whether a bias per row may join (neither operand is a vector).
      var takesRowBias = true

      /// The product of a matmul of `layout`.
      init(_ layout: MatmulLayout) {
        (rows, columns, axesAfterRows) = (layout.m, layout.n, 1)
        takesColumnBias = !layout.bIsVector
        takesRowBias = !layout.aIsVector && !layout.bIsVector
      }

      /// A product of `rows × columns` per batch element laid out along the last
      /// `1 + axesAfterRows` axes (a convolution's).
      init(rows: Int, columns: Int, axesAfterRows: Int) {
        (self.rows, self.columns, self.axesAfterRows) = (rows, columns, axesAfterRows)
      }
    }

    /// Recognises `nodes` (the group without its core op, in order) after `product`, whose
    /// elements form `shape`, or returns nil.
    init?(_ nodes: [Node], after product: ValueID, in graph: Graph, product shape: ProductShape) {
      let resultType = graph.type(of: product)
      var current = product
      var pendingGate: (result: ValueID, input: ValueID, activation: GEMMActivation)?
      var pendingResidual: (result: ValueID, input: ValueID, rowBias: ValueID)?
      let literals = Dictionary(nodes.compactMap { node in node.literal.map { (node.result, $0) } }) { a, _ in a }
      let producers = graph.definingNode
      /// The value of a one-element constant, inside the group or read by it, or nil.
      func scalar(_ value: ValueID) -> Float? {
        guard let literal = literals[value] ?? producers[value].flatMap({ graph.nodes[$0].literal }),
          literal.shape.count == 1
        else { return nil }
        return Float(literal.element(at: 0))
      }
      let chain = nodes.filter { $0.literal == nil }
      var index = 0
      while index < chain.count {
        let node = chain[index]
        index += 1
        if activation == .identity, gate == nil,
          let written = Self.writtenOutActivation(chain[(index - 1)...], after: current, scalar: scalar)
        {
          (activation, residualBeforeActivation, current) = (written.activation, residual != nil, written.result)
          index += written.length - 1
          continue
        }
        if node.kind == .div, current == product, node.operands[0] == product, let divisor = scalar(node.operands[1]),
          divisor.isNormal, divisor.significandBitPattern == 0
        {
          scale = .constant(1 / divisor)  // exact: the divisor is a power of two (attention's √d)
          current = node.result
          continue
        }
        if node.kind == .mul, current == product, let other = node.operands.first(where: { $0 != product }),
          graph.type(of: other).dtype == .f32, graph.type(of: other).shape.count == 1, node.operands.contains(product)
        {
          scale = literals[other].map { .constant(Float($0.element(at: 0))) } ?? .value(other)
          current = node.result
          continue
        }
        guard graph.type(of: node.result) == resultType, !node.operands.contains(where: { literals[$0] != nil }) else {
          return nil
        }
        if !node.operands.contains(current), node.kind == .add, pendingResidual == nil,
          let input = node.operands.first(where: { graph.type(of: $0) == resultType }),
          let other = node.operands.first(where: { $0 != input }),
          Self.isRowVector(graph.type(of: other).shape, shape, resultRank: resultType.shape.rank)
        {
          pendingResidual = (node.result, input, other)
          continue
        }
        guard node.operands.contains(current) else {
          // A node off the chain: only an activation whose result gates the chain later.
          guard pendingGate == nil, let activation = Self.activation(of: node), node.operands.count == 1,
            graph.type(of: node.operands[0]) == resultType
          else { return nil }
          pendingGate = (node.result, node.operands[0], activation)
          continue
        }
        let other = node.operands.count == 2 ? (node.operands[0] == current ? node.operands[1] : node.operands[0]) : nil
        switch node.kind {
        case .add where residual == nil:
          guard let other, graph.type(of: other).dtype == .f32 else { return nil }
          if let pending = pendingResidual, pending.result == other {
            (residual, residualRowBias) = (pending.input, pending.rowBias)
            pendingResidual = nil
          } else if Self.isColumnVector(graph.type(of: other).shape, columns: shape.columns) && bias == nil
            && activation == .identity
            && gate == nil && shape.takesColumnBias
          {
            bias = other
          } else if rowBias == nil && activation == .identity && gate == nil
            && Self.isRowVector(graph.type(of: other).shape, shape, resultRank: resultType.shape.rank)
            && shape.takesRowBias
          {
            rowBias = other
          } else if graph.type(of: other).shape == resultType.shape {
            residual = other
          } else {
            return nil
          }
        case .mul where gate == nil && residual == nil && other != current:
          guard let other else { return nil }
          if let pending = pendingGate, pending.result == other {
            (gate, gateActivation) = (pending.input, pending.activation)
            pendingGate = nil
          } else if graph.type(of: other) == resultType {
            gate = other
          } else {
            return nil
          }
        case .relu, .silu, .gelu, .tanh, .sigmoid:
          guard activation == .identity, gate == nil else { return nil }
          activation = Self.activation(of: node)!
          residualBeforeActivation = residual != nil
        default:
          return nil
        }
        current = node.result
      }
      let inside = Set(nodes.map(\.result))
      let read =
        [bias, rowBias, gate, residual, residualRowBias] + [
          scale.flatMap { if case .value(let value) = $0 { value } else { nil } }
        ]
      guard pendingGate == nil, pendingResidual == nil, !read.contains(where: { $0.map(inside.contains) ?? false })
      else { return nil }
    }

    /// Whether `shape` is `[columns]` after leading 1s: one value per column of the product (an
    /// attention mask `[1, 1, 1, n]`).
    private static func isColumnVector(_ shape: Shape, columns: Int) -> Bool {
      shape.dims.last == columns && shape.dims.dropLast().allSatisfy { $0 == 1 }
    }

    /// Whether `shape` is `[rows, 1…]` (the product's axes after the rows as 1s) after leading
    /// 1s, no longer than the result: one value per row of the product.
    private static func isRowVector(_ shape: Shape, _ product: ProductShape, resultRank: Int) -> Bool {
      let dims = shape.dims, tail = 1 + product.axesAfterRows
      return dims.count >= tail && dims.count <= resultRank
        && Array(dims.suffix(tail)) == [product.rows] + Array(repeating: 1, count: product.axesAfterRows)
        && dims.dropLast(tail).allSatisfy { $0 == 1 }
    }

    /// The activation a relu/silu/gelu/tanh/sigmoid node computes, or nil for any other node.
    private static func activation(of node: Node) -> GEMMActivation? {
      switch node.kind {
      case .relu: .relu
      case .silu: .silu
      case .tanh: .tanh
      case .sigmoid: .sigmoid
      case .gelu: node.attributes.symbol("approximate") == "tanh" ? .geluTanh : .gelu
      default: nil
      }
    }

    /// What the other operand of one node of a written-out activation is.
    private enum StepOperand {
      /// A one-element constant of this value.
      case constant(Float)
      /// The activation's input.
      case input
      /// None: a unary op.
      case none
    }

    /// Activations as exporters write them in core ops, longest first, each node reading the one
    /// before: PyTorch's `HardSwish` and `Hardsigmoid` (ONNX `HardSwish`, `HardSigmoid` with alpha
    /// 1/6 and beta 1/2, as the importer writes them) and `torch.onnx`'s exact GELU before opset 20
    /// (`x · (erf(x / √2) + 1) · 0.5`).
    private static let writtenOutActivations: [(GEMMActivation, [(OpKind, StepOperand)])] = [
      (
        .hardSwish,
        [
          (.mul, .constant(Float(1.0 / 6))), (.add, .constant(0.5)), (.min, .constant(1)), (.max, .constant(0)),
          (.mul, .input),
        ]
      ),
      (
        .hardSigmoid,
        [(.mul, .constant(Float(1.0 / 6))), (.add, .constant(0.5)), (.min, .constant(1)), (.max, .constant(0))]
      ),
      (
        .gelu,
        [
          (.div, .constant(Float(2).squareRoot())), (.erf, .none), (.add, .constant(1)), (.mul, .input),
          (.mul, .constant(0.5)),
        ]
      ),
    ]

    /// The written-out activation over `input` at the start of `chain`: which, the value it ends at
    /// and how many nodes it spans, or nil. `scalar` gives a one-element constant's value.
    private static func writtenOutActivation(
      _ chain: ArraySlice<Node>, after input: ValueID, scalar: (ValueID) -> Float?
    ) -> (activation: GEMMActivation, result: ValueID, length: Int)? {
      patterns: for (activation, steps) in writtenOutActivations where chain.count >= steps.count {
        var current = input
        for (node, (kind, operand)) in zip(chain, steps) {
          guard node.kind == kind, node.operands.first == current || node.operands.last == current else {
            continue patterns
          }
          let others =
            node.operands.count == 2 ? [node.operands[0] == current ? node.operands[1] : node.operands[0]] : []
          switch operand {
          case .constant(let value) where others.count == 1 && scalar(others[0]) == value: break
          case .input where others == [input]: break
          case .none where others.isEmpty: break
          default: continue patterns
          }
          current = node.result
        }
        return (activation, current, steps.count)
      }
      return nil
    }

    /// The epilogue of batch element `batch` (each `m × n`), with `pointer` giving each value's memory.
    func resolved(batch: Int, m: Int, n: Int, pointer: (ValueID) -> UnsafeMutableRawPointer) -> GEMMEpilogue {
      func matrix(_ value: ValueID?) -> UnsafePointer<Float>? {
        value.map { UnsafePointer(pointer($0).assumingMemoryBound(to: Float.self) + batch * m * n) }
      }
      func vector(_ value: ValueID?) -> UnsafePointer<Float>? {
        value.map { UnsafePointer(pointer($0).assumingMemoryBound(to: Float.self)) }
      }
      return GEMMEpilogue(
        scale: scale.map {
          switch $0 {
          case .constant(let factor): factor
          case .value(let value): pointer(value).assumingMemoryBound(to: Float.self).pointee
          }
        },
        bias: vector(bias), rowBias: vector(rowBias), activation: activation, residual: matrix(residual),
        residualStride: n, residualBeforeActivation: residualBeforeActivation, residualRowBias: vector(residualRowBias),
        gate: matrix(gate),
        gateActivation: gateActivation, gateStride: n)
    }
  }
}
