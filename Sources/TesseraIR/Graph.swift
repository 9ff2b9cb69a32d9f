/// Identifies a value inside one ``Graph``: an index into ``Graph/values``.
public struct ValueID: Hashable, Sendable, Comparable, CustomStringConvertible {
  /// Position in ``Graph/values``.
  public let index: Int
  /// Wraps an index.
  public init(_ index: Int) { self.index = index }
  /// Orders by index.
  public static func < (a: ValueID, b: ValueID) -> Bool { a.index < b.index }
  /// `v<index>`, for debugging.
  public var description: String { "v\(index)" }
}

/// An SSA value: a function argument or the result of one node.
public struct Value: Hashable, Sendable {
  /// The name without `%`, unique within its function.
  public var name: String
  /// Element type and shape.
  public var type: TensorType
  /// Creates a value.
  public init(name: String, type: TensorType) {
    self.name = name
    self.type = type
  }
}

/// One operation: `%result = kind %operands… {attributes} : type`.
public struct Node: Hashable, Sendable {
  /// Which op.
  public var kind: OpKind
  /// The values it reads, in order.
  public var operands: [ValueID]
  /// Compile-time parameters.
  public var attributes: Attributes
  /// The value it defines.
  public var result: ValueID
  /// The literal of a `constant` node; `nil` for every other op.
  public var literal: Tensor?

  /// Creates a node.
  public init(
    kind: OpKind, operands: [ValueID], attributes: Attributes = [:], result: ValueID,
    literal: Tensor? = nil
  ) {
    self.kind = kind
    self.operands = operands
    self.attributes = attributes
    self.result = result
    self.literal = literal
  }
}

/// One function of the IR: arguments, nodes in a valid execution order, and results.
///
/// Equality is structural: two graphs are equal when they have the same name, argument and value
/// names and types, the same nodes in the same order, and the same results — regardless of how
/// their ``values`` array happens to be ordered.
public struct Graph: Sendable, CustomStringConvertible {
  /// The function name without `@`.
  public var name: String
  /// Every value the function defines, addressed by ``ValueID``.
  public var values: [Value]
  /// The function's parameters, in order.
  public var arguments: [ValueID]
  /// The ops, in an order where each operand is defined before it is used.
  public var nodes: [Node]
  /// The returned values, in order.
  public var results: [ValueID]

  /// Creates a graph from its parts; use ``GraphBuilder`` or the parser rather than this directly.
  public init(name: String, values: [Value], arguments: [ValueID], nodes: [Node], results: [ValueID]) {
    self.name = name
    self.values = values
    self.arguments = arguments
    self.nodes = nodes
    self.results = results
  }

  /// The value with this id.
  public subscript(id: ValueID) -> Value { values[id.index] }

  /// The type of a value.
  public func type(of id: ValueID) -> TensorType { values[id.index].type }

  /// The types of the arguments, in order.
  public var argumentTypes: [TensorType] { arguments.map(type(of:)) }

  /// The types of the results, in order.
  public var resultTypes: [TensorType] { results.map(type(of:)) }

  /// The canonical text form (see ``Printer``).
  public var description: String { Printer.print(self) }

  /// The node that defines each value (arguments have none).
  public var definingNode: [ValueID: Int] {
    Dictionary(uniqueKeysWithValues: nodes.enumerated().map { ($1.result, $0) })
  }
}

extension Graph: Hashable {
  /// Structural equality; see ``Graph``.
  public static func == (a: Graph, b: Graph) -> Bool { a.canonicalForm == b.canonicalForm }

  /// Hashes the canonical form.
  public func hash(into hasher: inout Hasher) { hasher.combine(canonicalForm) }

  /// The graph with values renumbered in definition order (arguments first, then node results).
  private var canonicalForm: CanonicalGraph {
    var position: [ValueID: Int] = [:]
    var order: [Value] = []
    for id in arguments + nodes.map(\.result) where position[id] == nil {
      position[id] = order.count
      order.append(values[id.index])
    }
    func canon(_ id: ValueID) -> Int { position[id] ?? -1 - id.index }
    return CanonicalGraph(
      name: name, values: order, arguments: arguments.map(canon),
      nodes: nodes.map {
        CanonicalNode(
          kind: $0.kind, operands: $0.operands.map(canon), attributes: $0.attributes,
          result: canon($0.result), literal: $0.literal)
      },
      results: results.map(canon))
  }
}

private struct CanonicalNode: Hashable {
  var kind: OpKind
  var operands: [Int]
  var attributes: Attributes
  var result: Int
  var literal: Tensor?
}

private struct CanonicalGraph: Hashable {
  var name: String
  var values: [Value]
  var arguments: [Int]
  var nodes: [CanonicalNode]
  var results: [Int]
}

/// A `.tir` file: one or more functions.
public struct Module: Hashable, Sendable, CustomStringConvertible {
  /// The functions, in file order.
  public var functions: [Graph]

  /// Creates a module.
  public init(functions: [Graph]) { self.functions = functions }

  /// The function named `name`, if any.
  public func function(named name: String) -> Graph? { functions.first { $0.name == name } }

  /// The canonical text form of every function.
  public var description: String { functions.map(Printer.print).joined(separator: "\n") }
}
