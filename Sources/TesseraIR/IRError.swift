/// A place in a `.tir` text: `file:line:column`, all 1-based.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
  /// The file name as given to the parser.
  public var file: String
  /// 1-based line.
  public var line: Int
  /// 1-based column (in Unicode scalars).
  public var column: Int

  /// Creates a location.
  public init(file: String, line: Int, column: Int) {
    self.file = file
    self.line = line
    self.column = column
  }

  /// `file:line:column`.
  public var description: String { "\(file):\(line):\(column)" }
}

/// Every error the IR module reports. Each case says where and what was expected.
public enum IRError: Error, Hashable, Sendable, CustomStringConvertible {
  /// The text could not be parsed: what was expected at `location` and what was found instead.
  case syntax(SourceLocation, expected: String, found: String)
  /// The text is well-formed but means something invalid at `location` (an undefined value, a
  /// duplicate name, a type that disagrees with inference).
  case semantic(SourceLocation, String)
  /// An op in a built or parsed graph is invalid: `function`, the op, the value it defines.
  case invalidOp(function: String, op: OpKind, value: String, message: String)
  /// The graph as a whole is invalid (an undefined operand, a result that is not defined…).
  case invalidGraph(function: String, message: String)

  /// A one-line message that starts with the location.
  public var description: String {
    switch self {
    case .syntax(let location, let expected, let found):
      "\(location): error: expected \(expected), found \(found)"
    case .semantic(let location, let message):
      "\(location): error: \(message)"
    case .invalidOp(let function, let op, let value, let message):
      "@\(function): '\(op)' defining %\(value): \(message)"
    case .invalidGraph(let function, let message):
      "@\(function): \(message)"
    }
  }
}
