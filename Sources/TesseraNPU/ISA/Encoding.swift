/// The fixed-width binary form: one 64-bit little-endian word per instruction.
///
/// Bits 63…56 hold the opcode, 55…48 a sub-field (function, route and types, flags), then
/// register fields of 5 bits each from bit 47 down (register i at bits 47-5i … 43-5i), and a
/// 32-bit immediate in bits 31…0 for the instructions that have one. Unused bits are zero; a
/// word with a reserved bit set does not decode.
public enum Encoding {
  enum Opcode: UInt8 {
    case li = 0x01, addi = 0x02, add = 0x03, sub = 0x04, mul = 0x05, ldg = 0x06
    case blt = 0x08, bge = 0x09, beq = 0x0A, bne = 0x0B, jmp = 0x0C, trap = 0x0E, halt = 0x0F
    case setFlag = 0x10, waitFlag = 0x11, barrier = 0x12
    case dma = 0x20, mmad = 0x30
    case vbinary = 0x40, vunary = 0x41, vdup = 0x42, vreduce = 0x43, vdequant = 0x44, vcompare = 0x45, vselect = 0x46,
      viota = 0x47
  }

  /// The word for `instruction`.
  public static func encode(_ instruction: Instruction) -> UInt64 {
    func word(_ op: Opcode, _ sub: UInt8 = 0, _ registers: [Register] = [], imm: Int32 = 0) -> UInt64 {
      var bits = UInt64(op.rawValue) << 56 | UInt64(sub) << 48 | UInt64(UInt32(bitPattern: imm))
      for (index, register) in registers.enumerated() { bits |= UInt64(register & 31) << (43 - 5 * index) }
      return bits
    }
    switch instruction {
    case .li(let rd, let imm): return word(.li, 0, [rd], imm: imm)
    case .addi(let rd, let rs, let imm): return word(.addi, 0, [rd, rs], imm: imm)
    case .loadGlobal(let rd, let rs, let imm): return word(.ldg, 0, [rd, rs], imm: imm)
    case .alu(let op, let rd, let ra, let rb):
      return word([Opcode.add, .sub, .mul][Int(op.rawValue)], 0, [rd, ra, rb])
    case .branch(let condition, let ra, let rb, let target):
      return word([Opcode.blt, .bge, .beq, .bne][Int(condition.rawValue)], 0, [ra, rb], imm: target)
    case .jump(let target): return word(.jmp, imm: target)
    case .halt: return word(.halt)
    case .trap(let code): return word(.trap, imm: code)
    case .setFlag(let from, let to, let id): return word(.setFlag, from.rawValue << 4 | to.rawValue, imm: Int32(id))
    case .waitFlag(let from, let to, let id): return word(.waitFlag, from.rawValue << 4 | to.rawValue, imm: Int32(id))
    case .barrier: return word(.barrier)
    case .dma(let route, let from, let to, let descriptor):
      return word(.dma, route.rawValue << 4 | from.rawValue << 2 | to.rawValue, [descriptor])
    case .mmad(let type, let accumulate, let c, let a, let b, let m, let k, let n):
      return word(.mmad, (type == .i8 ? 2 : 0) | (accumulate ? 1 : 0), [c, a, b, m, k, n])
    case .vbinary(let function, let d, let a, let b, let n): return word(.vbinary, function.rawValue, [d, a, b, n])
    case .vunary(let function, let d, let a, let n): return word(.vunary, function.rawValue, [d, a, n])
    case .vdup(let d, let bits, let n): return word(.vdup, 0, [d, bits, n])
    case .vreduce(let function, let d, let a, let rows, let cols):
      return word(.vreduce, function.rawValue, [d, a, rows, cols])
    case .vdequant(let format, let d, let a, let blocks): return word(.vdequant, format.rawValue, [d, a, blocks])
    case .vcompare(let kind, let d, let a, let b, let n): return word(.vcompare, kind.rawValue, [d, a, b, n])
    case .vselect(let d, let mask, let a, let b, let n): return word(.vselect, 0, [d, mask, a, b, n])
    case .viota(let d, let n): return word(.viota, 0, [d, n])
    }
  }

  /// The instruction in `word`; `pc` only labels errors.
  public static func decode(_ word: UInt64, pc: Int = 0) throws(NPUError) -> Instruction {
    let sub = UInt8(truncatingIfNeeded: word >> 48)
    let imm = Int32(bitPattern: UInt32(truncatingIfNeeded: word))
    func r(_ index: Int) -> Register { Register(truncatingIfNeeded: word >> (43 - 5 * index)) & 31 }
    func fail(_ message: String) -> NPUError { .decode(pc: pc, word: word, message: message) }
    func unit(_ raw: UInt8) throws(NPUError) -> NPUUnit {
      guard let unit = NPUUnit(rawValue: raw) else { throw fail("unit \(raw) does not exist") }
      return unit
    }
    guard let opcode = Opcode(rawValue: UInt8(word >> 56)) else {
      throw fail("unknown opcode 0x\(String(word >> 56, radix: 16))")
    }
    let instruction: Instruction
    switch opcode {
    case .li: instruction = .li(rd: r(0), imm: imm)
    case .addi: instruction = .addi(rd: r(0), rs: r(1), imm: imm)
    case .ldg: instruction = .loadGlobal(rd: r(0), rs: r(1), imm: imm)
    case .add, .sub, .mul:
      instruction = .alu(ScalarOp(rawValue: opcode.rawValue - Opcode.add.rawValue)!, rd: r(0), ra: r(1), rb: r(2))
    case .blt, .bge, .beq, .bne:
      instruction = .branch(
        BranchCondition(rawValue: opcode.rawValue - Opcode.blt.rawValue)!, ra: r(0), rb: r(1), target: imm)
    case .jmp: instruction = .jump(target: imm)
    case .halt: instruction = .halt
    case .trap: instruction = .trap(code: imm)
    case .barrier: instruction = .barrier
    case .setFlag, .waitFlag:
      guard (0..<16).contains(imm) else { throw fail("flag id \(imm) is outside 0…15") }
      let (from, to) = (try unit(sub >> 4), try unit(sub & 15))
      instruction =
        opcode == .setFlag
        ? .setFlag(from: from, to: to, id: UInt8(imm)) : .waitFlag(from: from, to: to, id: UInt8(imm))
    case .dma:
      guard let route = DMARoute(rawValue: sub >> 4) else { throw fail("DMA route \(sub >> 4) does not exist") }
      instruction = .dma(
        route, from: NPUElement(rawValue: sub >> 2 & 3)!, to: NPUElement(rawValue: sub & 3)!, descriptor: r(0))
    case .mmad:
      instruction = .mmad(
        sub & 2 == 0 ? .f16 : .i8, accumulate: sub & 1 == 1, c: r(0), a: r(1), b: r(2), m: r(3), k: r(4), n: r(5))
    case .vbinary:
      guard let function = VectorBinary(rawValue: sub) else { throw fail("vector function \(sub) does not exist") }
      instruction = .vbinary(function, d: r(0), a: r(1), b: r(2), n: r(3))
    case .vunary:
      guard let function = VectorUnary(rawValue: sub) else { throw fail("vector function \(sub) does not exist") }
      instruction = .vunary(function, d: r(0), a: r(1), n: r(2))
    case .vdup: instruction = .vdup(d: r(0), bits: r(1), n: r(2))
    case .vreduce:
      guard let function = VectorReduction(rawValue: sub) else { throw fail("reduction \(sub) does not exist") }
      instruction = .vreduce(function, d: r(0), a: r(1), rows: r(2), cols: r(3))
    case .vdequant:
      guard let format = QuantFormat(rawValue: sub) else { throw fail("quant format \(sub) does not exist") }
      instruction = .vdequant(format, d: r(0), a: r(1), blocks: r(2))
    case .vcompare:
      guard let kind = VectorComparison(rawValue: sub) else { throw fail("comparison \(sub) does not exist") }
      instruction = .vcompare(kind, d: r(0), a: r(1), b: r(2), n: r(3))
    case .vselect: instruction = .vselect(d: r(0), mask: r(1), a: r(2), b: r(3), n: r(4))
    case .viota: instruction = .viota(d: r(0), n: r(1))
    }
    guard encode(instruction) == word else { throw fail("reserved bits are set") }
    return instruction
  }

  /// Little-endian bytes of a program.
  public static func bytes(_ program: [Instruction]) -> [UInt8] {
    program.flatMap { instruction in
      let word = encode(instruction)
      return (0..<8).map { UInt8(truncatingIfNeeded: word >> (8 * $0)) }
    }
  }

  /// The program in little-endian `bytes` (a multiple of 8).
  public static func program(_ bytes: [UInt8]) throws(NPUError) -> [Instruction] {
    guard bytes.count % 8 == 0 else {
      throw .decode(pc: bytes.count / 8, word: 0, message: "\(bytes.count) bytes is not a whole number of 8-byte words")
    }
    var program: [Instruction] = []
    for pc in 0..<(bytes.count / 8) {
      let word = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[pc * 8 + $1]) << (8 * $1) }
      program.append(try decode(word, pc: pc))
    }
    return program
  }
}
