/// A block decode in straight-line form: each distinct subexpression of a ``BlockNode`` once, in
/// an order where operands come first, the last instruction being the element's value.
///
/// Targets walk this list to emit their decoder (one local per instruction), and the reference
/// runs it over whole blocks (``BlockDecoder``).
public struct BlockProgram: Hashable, Sendable {
  /// One step; operands are indices of earlier instructions.
  public enum Instruction: Hashable, Sendable {
    case element
    case constant(Int32)
    case byte(Int)
    case half(Int)
    case integer(BlockIntegerOperator, Int, Int)
    case selectLess(Int, Int, Int, Int)
    case toFloat(Int)
    case float(BlockFloatOperator, Int, Int)

    /// True when the instruction's value is an f32 (otherwise an i32).
    public var isFloat: Bool {
      switch self {
      case .half, .toFloat, .float: true
      default: false
      }
    }
  }

  /// The instructions; the last one is the decoded element.
  public let instructions: [Instruction]

  /// Flattens `value`, sharing equal subexpressions.
  public init(_ value: BlockFloat) {
    var instructions: [Instruction] = []
    var seen: [BlockNode: Int] = [:]
    func lower(_ node: BlockNode) -> Int {
      if let index = seen[node] { return index }
      let instruction: Instruction
      switch node {
      case .element: instruction = .element
      case .constant(let value): instruction = .constant(value)
      case .byte(let offset): instruction = .byte(lower(offset))
      case .half(let offset): instruction = .half(lower(offset))
      case .integer(let op, let a, let b): instruction = .integer(op, lower(a), lower(b))
      case .selectLess(let a, let b, let x, let y): instruction = .selectLess(lower(a), lower(b), lower(x), lower(y))
      case .toFloat(let a): instruction = .toFloat(lower(a))
      case .float(let op, let a, let b): instruction = .float(op, lower(a), lower(b))
      }
      instructions.append(instruction)
      seen[node] = instructions.count - 1
      return instructions.count - 1
    }
    _ = lower(value.node)
    self.instructions = instructions
  }

  /// `op` applied to two i32 values, as every target computes it.
  @inlinable
  public static func apply(_ op: BlockIntegerOperator, _ a: Int32, _ b: Int32) -> Int32 {
    switch op {
    case .add: a &+ b
    case .subtract: a &- b
    case .multiply: a &* b
    case .shiftLeft: a &<< b
    case .shiftRight: a &>> b
    case .and: a & b
    case .or: a | b
    }
  }

  /// `op` applied to two f32 values, rounded once.
  @inlinable
  public static func apply(_ op: BlockFloatOperator, _ a: Float, _ b: Float) -> Float {
    switch op {
    case .add: a + b
    case .subtract: a - b
    case .multiply: a * b
    }
  }
}
