/// Emits straight-line NPU code: remembers what each register holds so an unchanged value is
/// not loaded twice. `x1`…`x19` hold operands, `x20`…`x29` the DMA descriptor.
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

  /// A strided DMA; `dims` are (count, stride) pairs, outermost first, at most four.
  func dma(_ route: DMARoute, _ from: NPUElement, _ to: NPUElement, destination: Int, source: Int, dims: [(Int, Int)])
    throws(NPUError)
  {
    guard dims.count <= 4 else {
      throw .unsupported(step: step, reason: "a \(dims.count)-D access needs more than the DMA's 4 dimensions")
    }
    let padded = [(Int, Int)](repeating: (1, 0), count: 4 - dims.count) + dims
    let fields = [destination, source] + padded.flatMap { [$0.0, $0.1] }
    for (index, value) in fields.enumerated() { try load(descriptor + Register(index), value) }
    emit(.dma(route, from: from, to: to, descriptor: descriptor))
  }

  func setFlag(_ from: NPUUnit, _ to: NPUUnit, _ id: Int) { emit(.setFlag(from: from, to: to, id: UInt8(id))) }
  func waitFlag(_ from: NPUUnit, _ to: NPUUnit, _ id: Int) { emit(.waitFlag(from: from, to: to, id: UInt8(id))) }
}
