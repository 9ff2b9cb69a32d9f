/// Binary → text: the `.npuasm` spelling of instructions and programs. Branch targets print as
/// absolute instruction indices, which the assembler accepts back.
public enum Disassembler {
  /// One instruction as assembly.
  public static func text(_ instruction: Instruction) -> String {
    func x(_ registers: Register...) -> String { registers.map { "x\($0)" }.joined(separator: ", ") }
    switch instruction {
    case .li(let rd, let imm): return "li \(x(rd)), \(imm)"
    case .addi(let rd, let rs, let imm): return "addi \(x(rd, rs)), \(imm)"
    case .loadGlobal(let rd, let rs, let imm): return "ldg \(x(rd, rs)), \(imm)"
    case .alu(let op, let rd, let ra, let rb): return "\(op) \(x(rd, ra, rb))"
    case .branch(let condition, let ra, let rb, let target): return "\(condition) \(x(ra, rb)), \(target)"
    case .jump(let target): return "jmp \(target)"
    case .halt: return "halt"
    case .trap(let code): return "trap \(code)"
    case .setFlag(let from, let to, let id): return "set_flag \(from), \(to), \(id)"
    case .waitFlag(let from, let to, let id): return "wait_flag \(from), \(to), \(id)"
    case .barrier: return "barrier"
    case .dma(let route, let from, let to, let descriptor): return "dma.\(route).\(from).\(to) \(x(descriptor))"
    case .mmad(let type, let accumulate, let c, let a, let b, let m, let k, let n):
      return "mmad.\(type)\(accumulate ? ".acc" : "") \(x(c, a, b, m, k, n))"
    case .vbinary(let function, let d, let a, let b, let n): return "v\(function) \(x(d, a, b, n))"
    case .vunary(let function, let d, let a, let n): return "v\(function) \(x(d, a, n))"
    case .vdup(let d, let bits, let n): return "vdup \(x(d, bits, n))"
    case .vreduce(let function, let d, let a, let rows, let cols): return "vred\(function) \(x(d, a, rows, cols))"
    case .vdequant(let format, let d, let a, let blocks): return "vdeq.\(format) \(x(d, a, blocks))"
    case .vcompare(let kind, let d, let a, let b, let n): return "vcmp.\(kind) \(x(d, a, b, n))"
    case .vselect(let d, let mask, let a, let b, let n): return "vsel \(x(d, mask, a, b, n))"
    case .viota(let d, let n): return "viota \(x(d, n))"
    }
  }

  /// A program as assembly, one instruction per line.
  public static func text(_ program: [Instruction]) -> String {
    program.map { text($0) + "\n" }.joined()
  }

  /// Decodes binary words and prints them.
  public static func text(bytes: [UInt8]) throws(NPUError) -> String {
    text(try Encoding.program(bytes))
  }
}
