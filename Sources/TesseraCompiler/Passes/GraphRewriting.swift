import TesseraIR

extension Graph {
  /// The graph with every use of `old` (as an operand or a result) reading `new` instead.
  public func replacingUses(of old: ValueID, with new: ValueID) -> Graph {
    replacingUses([old: new])
  }

  /// The graph with every use of a key of `replacements` (operands and results) reading its value
  /// instead; chains (`a -> b`, `b -> c`) are followed to their end. Definitions are untouched, so
  /// the nodes that defined replaced values remain until dead-code elimination drops them.
  public func replacingUses(_ replacements: [ValueID: ValueID]) -> Graph {
    func resolve(_ id: ValueID) -> ValueID {
      var current = id
      while let next = replacements[current], next != current { current = next }
      return current
    }
    var rewritten = self
    for index in rewritten.nodes.indices {
      rewritten.nodes[index].operands = rewritten.nodes[index].operands.map(resolve)
    }
    rewritten.results = results.map(resolve)
    return rewritten
  }
}

/// What a rewriting pass does with one node (whose operands are already rewired).
enum Rewrite {
  /// Keep this node, possibly changed; its result id must keep its type.
  case keep(Node)
  /// Drop the node; its uses read this value, which has the same type.
  case replace(with: ValueID)
}

/// Rebuilds a graph node by node for the rewriting passes: each node's operands are rewired to
/// the replacements decided so far before the pass sees it, new nodes get fresh unique names,
/// and ``finish()`` drops whatever the rewrite left dead.
struct GraphRewriter {
  /// The graph built so far (every source value, the nodes emitted so far).
  private(set) var graph: Graph
  private var replacements: [ValueID: ValueID] = [:]
  private var producers: [ValueID: Node] = [:]
  private var usedNames: Set<String>

  /// Runs `body` on every node of `source` in order and returns the rewritten graph without dead
  /// nodes.
  static func rewrite(_ source: Graph, _ body: (inout GraphRewriter, Node) -> Rewrite) -> Graph {
    var rewriter = GraphRewriter(source)
    for node in source.nodes {
      var rewired = node
      rewired.operands = node.operands.map { rewriter.replacements[$0] ?? $0 }
      switch body(&rewriter, rewired) {
      case .keep(let kept): rewriter.append(kept)
      case .replace(let value): rewriter.replacements[node.result] = value
      }
    }
    return DeadCodeElimination().run(rewriter.graph.replacingUses(rewriter.replacements))
  }

  private init(_ source: Graph) {
    graph = source
    graph.nodes = []
    usedNames = Set(source.values.map(\.name))
  }

  /// The type of a value.
  func type(of id: ValueID) -> TensorType { graph.type(of: id) }

  /// The emitted node that defines `id`; `nil` for arguments.
  func producer(of id: ValueID) -> Node? { producers[id] }

  /// The literal of `id` when a `constant` node defines it.
  func literal(of id: ValueID) -> Tensor? { producers[id]?.literal }

  /// Appends a node whose result already exists in the graph.
  mutating func append(_ node: Node) {
    graph.nodes.append(node)
    producers[node.result] = node
  }

  /// Appends a new node with a fresh value named after `hint`, typed by ``TypeInference``. An op
  /// that does not type-check gets a placeholder type, so the verifier names the broken pass.
  mutating func emit(
    _ kind: OpKind, _ operands: [ValueID], attributes: Attributes = [:], literal: Tensor? = nil, hint: String
  ) -> ValueID {
    let resultType =
      (try? TypeInference.resultType(
        of: kind, operands: operands.map { graph.type(of: $0) }, attributes: attributes, literal: literal))
      ?? TensorType(.f32, [])
    var name = hint
    var suffix = 0
    while usedNames.contains(name) {
      suffix += 1
      name = "\(hint).\(suffix)"
    }
    usedNames.insert(name)
    graph.values.append(Value(name: name, type: resultType))
    let id = ValueID(graph.values.count - 1)
    append(Node(kind: kind, operands: operands, attributes: attributes, result: id, literal: literal))
    return id
  }

  /// Appends a scalar `constant` of `dtype`.
  mutating func constant(_ value: Double, _ dtype: DType, hint: String) -> ValueID {
    emit(.constant, [], literal: Tensor([value], shape: [], dtype: dtype), hint: hint)
  }
}
