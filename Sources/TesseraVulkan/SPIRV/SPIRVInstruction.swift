/// One operand of a SPIR-V instruction: an id, a literal word or a literal string.
public enum SPIRVOperand: Hashable, Sendable {
  /// A result id (`%n`).
  case id(UInt32)
  /// A literal 32-bit word (numbers, enumerants).
  case literal(UInt32)
  /// A nul-terminated UTF-8 string, padded to whole words.
  case string(String)

  /// The operand's words.
  var words: [UInt32] {
    switch self {
    case .id(let value), .literal(let value): return [value]
    case .string(let text):
      var bytes = Array(text.utf8) + [0]
      while bytes.count % 4 != 0 { bytes.append(0) }
      return stride(from: 0, to: bytes.count, by: 4).map { i in
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[i + $1]) << (8 * UInt32($1)) }
      }
    }
  }
}

/// One SPIR-V instruction with its result type and result id kept apart, so it can be encoded
/// as words or printed like `spirv-dis` does.
public struct SPIRVInstruction: Hashable, Sendable {
  /// The opcode.
  public var op: SPIRVOp
  /// The id of the result's type, for instructions that have one.
  public var resultType: UInt32?
  /// The result id, for instructions that define one.
  public var result: UInt32?
  /// The remaining operands.
  public var operands: [SPIRVOperand]

  /// Creates an instruction.
  public init(_ op: SPIRVOp, type: UInt32? = nil, result: UInt32? = nil, _ operands: [SPIRVOperand] = []) {
    self.op = op
    self.resultType = type
    self.result = result
    self.operands = operands
  }

  /// The binary encoding: word count and opcode, then the operands in order.
  public var words: [UInt32] {
    let body = [resultType, result].compactMap { $0 } + operands.flatMap(\.words)
    return [UInt32(body.count + 1) << 16 | UInt32(op.rawValue)] + body
  }

  /// `%5 = OpIAdd %2 %3 %4`-style text.
  public var assembly: String {
    let parts =
      [op.mnemonic] + (resultType.map { ["%\($0)"] } ?? [])
      + operands.map { operand in
        switch operand {
        case .id(let id): "%\(id)"
        case .literal(let value): "\(value)"
        case .string(let text): "\"\(text)\""
        }
      }
    let text = parts.joined(separator: " ")
    return result.map { "%\($0) = " + text } ?? text
  }
}
