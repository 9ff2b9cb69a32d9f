/// Every error of the NPU: assembly text, binary decoding, execution faults and lowering.
public enum NPUError: Error, Hashable, Sendable, CustomStringConvertible {
  /// Malformed assembly at `line:column` (1-based).
  case assembly(line: Int, column: Int, message: String)
  /// A binary word that is no instruction, at instruction index `pc`.
  case decode(pc: Int, word: UInt64, message: String)
  /// Execution stopped at `pc` running `instruction` (an out-of-bounds access, a bad operand…).
  case fault(pc: Int, instruction: String, message: String)
  /// Every unit waits on a flag nobody will raise; `waiting` lists "unit: instruction at pc".
  case deadlock(waiting: [String])
  /// A plan step the lowering cannot express as an NPU program.
  case unsupported(step: String, reason: String)

  /// A message a person can act on.
  public var description: String {
    switch self {
    case .assembly(let line, let column, let message): "\(line):\(column): error: \(message)"
    case .decode(let pc, let word, let message):
      "pc \(pc): cannot decode 0x\(String(word, radix: 16)): \(message)"
    case .fault(let pc, let instruction, let message): "fault at pc \(pc) (\(instruction)): \(message)"
    case .deadlock(let waiting): "deadlock: \(waiting.joined(separator: "; "))"
    case .unsupported(let step, let reason): "the npu cannot run \(step): \(reason)"
    }
  }
}
