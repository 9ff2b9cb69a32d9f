/// Reads `.tir` text into a ``Module``. Errors carry `file:line:column` and say what was expected.
///
/// ```swift
/// let module = try Parser.parse(text, file: "mlp.tir")
/// ```
public struct Parser {
  private var tokens: [Token]
  private var index = 0

  /// Parses every function in `text`; `file` names the source in error messages.
  public static func parse(_ text: String, file: String = "<input>") throws(IRError) -> Module {
    var lexer = Lexer(text: text, file: file)
    var parser = Parser(tokens: try lexer.tokenize())
    return try parser.module()
  }

  private init(tokens: [Token]) { self.tokens = tokens }

  private var current: Token { tokens[index] }

  private mutating func advance() { if index < tokens.count - 1 { index += 1 } }

  private func fail(_ expected: String) -> IRError {
    .syntax(current.location, expected: expected, found: current.display)
  }

  private mutating func expect(_ punct: String) throws(IRError) {
    guard current.kind == .punct(punct) else { throw fail("'\(punct)'") }
    advance()
  }

  private mutating func accept(_ punct: String) -> Bool {
    guard current.kind == .punct(punct) else { return false }
    advance()
    return true
  }

  private mutating func expectWord(_ what: String) throws(IRError) -> String {
    guard case .word(let word) = current.kind else { throw fail(what) }
    advance()
    return word
  }

  // MARK: - Grammar

  private mutating func module() throws(IRError) -> Module {
    var functions: [Graph] = []
    var seen = Set<String>()
    repeat {
      let location = current.location
      let function = try function()
      guard seen.insert(function.name).inserted else {
        throw .semantic(location, "function @\(function.name) is defined twice")
      }
      functions.append(function)
    } while current.kind != .end
    return Module(functions: functions)
  }

  private mutating func function() throws(IRError) -> Graph {
    guard current.kind == .word("func") else { throw fail("'func'") }
    advance()
    guard case .atName(let name) = current.kind else { throw fail("a function name like '@main'") }
    advance()
    var scope = Scope(graph: Graph(name: name, values: [], arguments: [], nodes: [], results: []))
    try expect("(")
    if !accept(")") {
      repeat {
        let (argumentName, location) = try percentName()
        try expect(":")
        let type = try tensorType()
        scope.graph.arguments.append(try scope.define(argumentName, type, at: location))
      } while accept(",")
      try expect(")")
    }
    try expect("->")
    let declaredResults = try resultTypes()
    try expect("{")
    while current.kind != .word("return") {
      try statement(&scope)
    }
    let returnLocation = current.location
    advance()
    repeat {
      scope.graph.results.append(try use(&scope))
    } while accept(",")
    try expect("}")
    guard scope.graph.resultTypes == declaredResults else {
      let found = scope.graph.resultTypes.map(\.description).joined(separator: ", ")
      let expected = declaredResults.map(\.description).joined(separator: ", ")
      throw .semantic(returnLocation, "return gives (\(found)) but the signature declares (\(expected))")
    }
    return scope.graph
  }

  private mutating func resultTypes() throws(IRError) -> [TensorType] {
    guard accept("(") else { return [try tensorType()] }
    var types: [TensorType] = []
    repeat { types.append(try tensorType()) } while accept(",")
    try expect(")")
    return types
  }

  private mutating func statement(_ scope: inout Scope) throws(IRError) {
    if current.kind == .end { throw fail("a statement or 'return'") }
    let (resultName, resultLocation) = try percentName()
    try expect("=")
    let opLocation = current.location
    let opWord = try expectWord("an op name")
    guard let kind = OpKind(rawValue: opWord) else {
      throw .semantic(opLocation, "unknown op '\(opWord)'")
    }
    var operands: [ValueID] = []
    var literalLocation = current.location
    var literal: LiteralValue?
    if kind == .constant {
      literalLocation = current.location
      literal = try self.literal()
    } else if case .percentName = current.kind {
      repeat { operands.append(try use(&scope)) } while accept(",")
    }
    let attributes = current.kind == .punct("{") ? try attributeDictionary() : Attributes()
    try expect(":")
    let declared = try tensorType()
    var tensor: Tensor?
    if let literal {
      tensor = try literal.tensor(of: declared, at: literalLocation)
    }
    let inferred: TensorType
    do {
      inferred = try TypeInference.resultType(
        of: kind, operands: operands.map(scope.graph.type(of:)), attributes: attributes, literal: tensor)
    } catch {
      throw .semantic(opLocation, "\(kind): \(error.message)")
    }
    guard inferred == declared else {
      throw .semantic(opLocation, "\(kind): declared type \(declared) differs from inferred \(inferred)")
    }
    let result = try scope.define(resultName, declared, at: resultLocation)
    scope.graph.nodes.append(
      Node(kind: kind, operands: operands, attributes: attributes, result: result, literal: tensor))
  }

  private mutating func percentName() throws(IRError) -> (String, SourceLocation) {
    guard case .percentName(let name) = current.kind else { throw fail("a value name like '%x'") }
    let location = current.location
    advance()
    return (name, location)
  }

  private mutating func use(_ scope: inout Scope) throws(IRError) -> ValueID {
    let (name, location) = try percentName()
    guard let id = scope.ids[name] else { throw .semantic(location, "use of undefined value %\(name)") }
    return id
  }

  private mutating func tensorType() throws(IRError) -> TensorType {
    let location = current.location
    let word = try expectWord("a type like 'f32[4,64]'")
    guard let dtype = DType(rawValue: word) else {
      let known = DType.allCases.map(\.rawValue).joined(separator: " ")
      throw .semantic(location, "unknown dtype '\(word)' (expected one of: \(known))")
    }
    try expect("[")
    var dims: [Int] = []
    if !accept("]") {
      repeat {
        guard case .integer(let dim) = current.kind, dim >= 0 else { throw fail("a non-negative dimension") }
        dims.append(dim)
        advance()
      } while accept(",")
      try expect("]")
    }
    var count = 1
    for dim in dims {
      let (product, overflow) = count.multipliedReportingOverflow(by: dim)
      guard !overflow else { throw .semantic(location, "the element count of \(dtype)\(dims) overflows") }
      count = product
    }
    let type = TensorType(dtype, Shape(dims))
    if type.storageBytes == nil {
      throw .semantic(location, "\(type) is not storable (\(dtype) needs a multiple of 32 elements)")
    }
    return type
  }

  private mutating func attributeDictionary() throws(IRError) -> Attributes {
    try expect("{")
    var attributes = Attributes()
    if accept("}") { return attributes }
    repeat {
      let location = current.location
      let key = try expectWord("an attribute name")
      guard attributes[key] == nil else { throw .semantic(location, "attribute '\(key)' is given twice") }
      try expect("=")
      attributes[key] = try attributeValue()
    } while accept(",")
    try expect("}")
    return attributes
  }

  private mutating func attributeValue() throws(IRError) -> Attribute {
    switch current.kind {
    case .integer(let value):
      advance()
      return .int(value)
    case .float(let value):
      advance()
      return .float(value)
    case .word("true"), .word("false"):
      defer { advance() }
      return .bool(current.kind == .word("true"))
    case .word(let word):
      advance()
      return .symbol(word)
    case .punct("["):
      advance()
      var values: [Int] = []
      if !accept("]") {
        repeat {
          guard case .integer(let value) = current.kind else { throw fail("an integer in the list") }
          values.append(value)
          advance()
        } while accept(",")
        try expect("]")
      }
      return .ints(values)
    default:
      throw fail("an attribute value (number, true/false, word or [integers])")
    }
  }

  private mutating func literal() throws(IRError) -> LiteralValue {
    switch current.kind {
    case .hexBytes(let bytes):
      advance()
      return .bytes(bytes)
    case .punct("["):
      var values: [Double] = []
      try literalList(into: &values)
      return .list(values)
    default:
      return .splat(try literalScalar())
    }
  }

  private mutating func literalList(into values: inout [Double]) throws(IRError) {
    try expect("[")
    if accept("]") { return }
    repeat {
      if current.kind == .punct("[") {
        try literalList(into: &values)
      } else {
        values.append(try literalScalar())
      }
    } while accept(",")
    try expect("]")
  }

  private mutating func literalScalar() throws(IRError) -> Double {
    defer { advance() }
    switch current.kind {
    case .integer(let value): return Double(value)
    case .float(let value): return value
    case .word("true"): return 1
    case .word("false"): return 0
    case .word("inf"): return .infinity
    case .word("nan"): return .nan
    default: throw fail("a literal value (number, true, false, [list] or 0x bytes)")
    }
  }
}

/// The names defined so far in one function.
private struct Scope {
  var graph: Graph
  var ids: [String: ValueID] = [:]

  mutating func define(_ name: String, _ type: TensorType, at location: SourceLocation) throws(IRError) -> ValueID {
    guard ids[name] == nil else { throw .semantic(location, "%\(name) is already defined") }
    graph.values.append(Value(name: name, type: type))
    let id = ValueID(graph.values.count - 1)
    ids[name] = id
    return id
  }
}

/// A constant's literal before its type is known.
private enum LiteralValue {
  case splat(Double)
  case list([Double])
  case bytes([UInt8])

  func tensor(of type: TensorType, at location: SourceLocation) throws(IRError) -> Tensor {
    switch self {
    case .bytes(let bytes):
      guard type.dtype.isQuantized, let tensor = Tensor(type: type, bytes: bytes) else {
        throw .semantic(
          location, "a 0x literal of \(bytes.count) bytes does not fit \(type) (\(type.storageBytes ?? 0) bytes)")
      }
      return tensor
    case .splat(let value):
      try requirePlain(type, location)
      return Tensor(repeating: value, shape: type.shape, dtype: type.dtype)
    case .list(let values):
      try requirePlain(type, location)
      guard values.count == type.shape.count else {
        throw .semantic(location, "the literal has \(values.count) values but \(type) holds \(type.shape.count)")
      }
      if type.dtype == .i64, let exact = values.firstIndex(where: { Swift.abs($0) > 9_007_199_254_740_992 }) {
        throw .semantic(location, "literal value \(values[exact]) is beyond the exactly representable i64 range")
      }
      return Tensor(values, shape: type.shape, dtype: type.dtype)
    }
  }

  private func requirePlain(_ type: TensorType, _ location: SourceLocation) throws(IRError) {
    guard !type.dtype.isQuantized else {
      throw .semantic(location, "a \(type.dtype) constant needs its blocks as 0x bytes")
    }
  }
}
