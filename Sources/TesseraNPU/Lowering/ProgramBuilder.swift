/// The side of a DMA whose address a run-time offset moves.
enum DMASide {
  case source, destination
}

/// Emits NPU code: remembers what each register holds so an unchanged value is not loaded
/// twice. `x1`…`x19` hold operands, `x20`…`x29` the DMA descriptor, `x30` a run-time index
/// read from global memory and `x31` a byte offset computed from it.
final class ProgramBuilder {
  private(set) var program: [Instruction] = []
  private var known = [Int64?](repeating: nil, count: 32)
  private var nextOperand: Register = 1
  private let descriptor: Register = 20
  /// What the program is for, in errors.
  let step: String

  init(step: String) {
    self.step = step
    known[0] = 0
  }

  func emit(_ instruction: Instruction) { program.append(instruction) }

  private func load(_ register: Register, _ value: Int) throws(NPUError) {
    guard let immediate = Int32(exactly: value) else {
      throw .unsupported(step: step, reason: "the value \(value) does not fit a 32-bit immediate")
    }
    if known[Int(register)] == Int64(value) { return }
    emit(.li(rd: register, imm: immediate))
    known[Int(register)] = Int64(value)
  }

  /// A register holding `value` (x0 for zero).
  func register(_ value: Int) throws(NPUError) -> Register {
    if let found = (0..<20).first(where: { known[$0] == Int64(value) }) { return Register(found) }
    let chosen = nextOperand
    nextOperand = nextOperand == 19 ? 1 : nextOperand + 1
    try load(chosen, value)
    return chosen
  }

  /// A strided DMA; `dims` are (count, stride) pairs, outermost first, at most four; `offset`
  /// adds a register's run-time byte offset to one side's address.
  func dma(
    _ route: DMARoute, _ from: NPUElement, _ to: NPUElement, destination: Int, source: Int, dims: [(Int, Int)],
    offset: (register: Register, side: DMASide)? = nil
  ) throws(NPUError) {
    guard dims.count <= 4 else {
      throw .unsupported(step: step, reason: "a \(dims.count)-D access needs more than the DMA's 4 dimensions")
    }
    let padded = [(Int, Int)](repeating: (1, 0), count: 4 - dims.count) + dims
    let fields = [destination, source] + padded.flatMap { [$0.0, $0.1] }
    for (index, value) in fields.enumerated() { try load(descriptor + Register(index), value) }
    if let offset {
      let field = descriptor + (offset.side == .destination ? 0 : 1)
      emit(.alu(.add, rd: field, ra: field, rb: offset.register))
      known[Int(field)] = nil
    }
    emit(.dma(route, from: from, to: to, descriptor: descriptor))
  }

  /// Reads the i32 at global `address` into `x30` at run time; with `negativeFromEnd`, a
  /// negative value counts back from `bound`; the program traps (code 1) unless the value is
  /// then in `0..<bound`.
  func loadIndex(at address: Int, below bound: Int, negativeFromEnd: Bool) throws(NPUError) -> Register {
    let (index, limit): (Register, Register) = (30, 31)
    guard let immediate = Int32(exactly: address), let bound32 = Int32(exactly: bound) else {
      throw .unsupported(step: step, reason: "the address \(address) or bound \(bound) does not fit 32 bits")
    }
    emit(.loadGlobal(rd: index, rs: 0, imm: immediate))
    if negativeFromEnd {
      emit(.branch(.bge, ra: index, rb: 0, target: Int32(program.count + 2)))
      emit(.addi(rd: index, rs: index, imm: bound32))
    }
    // limit = bound; index < bound skips the trap, which a negative index then branches back to.
    emit(.li(rd: limit, imm: bound32))
    emit(.branch(.blt, ra: index, rb: limit, target: Int32(program.count + 2)))
    emit(.trap(code: 1))
    emit(.branch(.blt, ra: index, rb: 0, target: Int32(program.count - 1)))
    return index
  }

  /// `x31` = `register` · `factor` (a byte offset from a run-time index).
  func scaled(_ register: Register, by factor: Int) throws(NPUError) -> Register {
    guard let immediate = Int32(exactly: factor) else {
      throw .unsupported(step: step, reason: "the factor \(factor) does not fit a 32-bit immediate")
    }
    emit(.li(rd: 31, imm: immediate))
    emit(.alu(.mul, rd: 31, ra: register, rb: 31))
    return 31
  }

  func setFlag(_ from: NPUUnit, _ to: NPUUnit, _ id: Int) { emit(.setFlag(from: from, to: to, id: UInt8(id))) }
  func waitFlag(_ from: NPUUnit, _ to: NPUUnit, _ id: Int) { emit(.waitFlag(from: from, to: to, id: UInt8(id))) }
}
