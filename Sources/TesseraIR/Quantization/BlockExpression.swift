/// One node of a block decode: how element `e` of a GGUF block is computed from the block's bytes.
///
/// A decode is a small pure expression over the element's index inside its block and the bytes
/// of that block: integer arithmetic on bytes, f16 reads, conversion to f32 and f32 arithmetic
/// in a fixed order. It is data, not code, so every target derives its decoder from it (the
/// reference runs it, OpenCL prints it as C, Vulkan emits it as SPIR-V). Build it through
/// ``BlockInt`` and ``BlockFloat``, which keep integer and float values apart.
public indirect enum BlockNode: Hashable, Sendable {
  /// The element's index inside its block, `0 ..< elements` (integer).
  case element
  /// An integer constant.
  case constant(Int32)
  /// The unsigned byte at an integer byte offset inside the block (integer, 0…255).
  case byte(BlockNode)
  /// The little-endian IEEE f16 at an even integer byte offset inside the block, as f32.
  case half(BlockNode)
  /// An integer operation on two integers.
  case integer(BlockIntegerOperator, BlockNode, BlockNode)
  /// `lhs < rhs ? then : else` on integers (both branches are pure and in bounds).
  case selectLess(BlockNode, BlockNode, BlockNode, BlockNode)
  /// An integer converted to f32 (exact: every integer a decode forms is small).
  case toFloat(BlockNode)
  /// An f32 operation on two floats, rounded once.
  case float(BlockFloatOperator, BlockNode, BlockNode)
}

/// The integer operations of a block decode, on 32-bit signed integers whose values stay small
/// and whose shifts are by 0…31.
public enum BlockIntegerOperator: String, Hashable, Sendable, CaseIterable {
  case add, subtract, multiply, shiftLeft, shiftRight, and, or
}

/// The f32 operations of a block decode.
public enum BlockFloatOperator: String, Hashable, Sendable, CaseIterable {
  case add, subtract, multiply
}

/// An integer-valued block expression.
///
/// Its arithmetic operators (`+ - * << >> & |`, also with an `Int32` on either side) are
/// internal to TesseraIR, so they never take part in other modules' overload resolution.
public struct BlockInt: Hashable, Sendable {
  /// The expression.
  public let node: BlockNode

  /// Wraps an integer-valued node.
  public init(_ node: BlockNode) { self.node = node }

  /// A constant.
  public init(_ value: Int32) { node = .constant(value) }

  /// The element's index inside its block.
  public static let element = BlockInt(.element)

  /// The unsigned byte at `offset` inside the block.
  public static func byte(_ offset: BlockInt) -> BlockInt { BlockInt(.byte(offset.node)) }

  /// The byte at `offset` read as a two's-complement `Int8`.
  public static func signedByte(_ offset: BlockInt) -> BlockInt { ((byte(offset) + 128) & 255) - 128 }

  /// Bit `bit` (0…7) of the byte at `offset`, as 0 or 1.
  public static func bit(_ offset: BlockInt, _ bit: BlockInt) -> BlockInt { (byte(offset) >> bit) & 1 }

  /// `lhs < rhs ? then : otherwise`.
  public static func select(_ lhs: BlockInt, lessThan rhs: Int32, _ then: BlockInt, _ otherwise: BlockInt)
    -> BlockInt
  {
    BlockInt(.selectLess(lhs.node, BlockInt(rhs).node, then.node, otherwise.node))
  }

  /// This integer as f32.
  public var float: BlockFloat { BlockFloat(.toFloat(node)) }
}

extension BlockInt {
  private static func op(_ op: BlockIntegerOperator, _ a: BlockInt, _ b: BlockInt) -> BlockInt {
    BlockInt(.integer(op, a.node, b.node))
  }
  static func + (a: BlockInt, b: BlockInt) -> BlockInt { op(.add, a, b) }
  static func + (a: BlockInt, b: Int32) -> BlockInt { op(.add, a, BlockInt(b)) }
  static func + (a: Int32, b: BlockInt) -> BlockInt { op(.add, BlockInt(a), b) }
  static func - (a: BlockInt, b: BlockInt) -> BlockInt { op(.subtract, a, b) }
  static func - (a: BlockInt, b: Int32) -> BlockInt { op(.subtract, a, BlockInt(b)) }
  static func * (a: BlockInt, b: BlockInt) -> BlockInt { op(.multiply, a, b) }
  static func << (a: BlockInt, b: BlockInt) -> BlockInt { op(.shiftLeft, a, b) }
  static func << (a: BlockInt, b: Int32) -> BlockInt { op(.shiftLeft, a, BlockInt(b)) }
  /// Arithmetic right shift (the decodes shift non-negative values only).
  static func >> (a: BlockInt, b: BlockInt) -> BlockInt { op(.shiftRight, a, b) }
  static func >> (a: BlockInt, b: Int32) -> BlockInt { op(.shiftRight, a, BlockInt(b)) }
  static func & (a: BlockInt, b: BlockInt) -> BlockInt { op(.and, a, b) }
  static func & (a: BlockInt, b: Int32) -> BlockInt { op(.and, a, BlockInt(b)) }
  static func | (a: BlockInt, b: BlockInt) -> BlockInt { op(.or, a, b) }
}

/// An f32-valued block expression (its operators, like ``BlockInt``'s, are internal).
public struct BlockFloat: Hashable, Sendable {
  /// The expression.
  public let node: BlockNode

  /// Wraps a float-valued node.
  public init(_ node: BlockNode) { self.node = node }

  /// The f16 at byte `offset` inside the block, as f32.
  public static func half(_ offset: Int32) -> BlockFloat { BlockFloat(.half(BlockInt(offset).node)) }
}

extension BlockFloat {
  private static func op(_ op: BlockFloatOperator, _ a: BlockFloat, _ b: BlockFloat) -> BlockFloat {
    BlockFloat(.float(op, a.node, b.node))
  }
  static func + (a: BlockFloat, b: BlockFloat) -> BlockFloat { op(.add, a, b) }
  static func - (a: BlockFloat, b: BlockFloat) -> BlockFloat { op(.subtract, a, b) }
  static func * (a: BlockFloat, b: BlockFloat) -> BlockFloat { op(.multiply, a, b) }
}
