import TesseraNPU
import Testing

/// One instance of every instruction form, with the registers and fields varied.
let everyInstruction: [Instruction] =
  [
    .li(rd: 1, imm: -7), .li(rd: 31, imm: Int32.max), .addi(rd: 2, rs: 3, imm: 4096), .jump(target: 3), .halt,
    .barrier, .setFlag(from: .mte2, to: .vector, id: 15), .waitFlag(from: .cube, to: .fixp, id: 0),
    .vdup(d: 4, bits: 5, n: 6), .loadGlobal(rd: 3, rs: 4, imm: -64), .trap(code: 1), .viota(d: 5, n: 6),
    .vselect(d: 26, mask: 27, a: 28, b: 29, n: 30),
  ]
  + ScalarOp.allCases.map { .alu($0, rd: 7, ra: 8, rb: 9) }
  + BranchCondition.allCases.map { .branch($0, ra: 10, rb: 11, target: 2) }
  + DMARoute.allCases.flatMap { route in
    [NPUElement.f32, .f16].flatMap { from in
      [NPUElement.f32, .f16].map { .dma(route, from: from, to: $0, descriptor: 20) }
    }
  }
  + [.dma(.gm2ub, from: .i8, to: .i8, descriptor: 3), .dma(.l0c2ub, from: .i32, to: .i32, descriptor: 22)]
  + [NPUElement.f16, .i8].flatMap { type in
    [false, true].map { .mmad(type, accumulate: $0, c: 1, a: 2, b: 3, m: 4, k: 5, n: 31) }
  }
  + VectorBinary.allCases.map { .vbinary($0, d: 12, a: 13, b: 14, n: 15) }
  + VectorUnary.allCases.map { .vunary($0, d: 16, a: 17, n: 18) }
  + VectorReduction.allCases.map { .vreduce($0, d: 19, a: 20, rows: 21, cols: 22) }
  + QuantFormat.allCases.map { .vdequant($0, d: 23, a: 24, blocks: 25) }
  + VectorComparison.allCases.map { .vcompare($0, d: 12, a: 13, b: 14, n: 15) }

@Suite("NPU assembler, encoding and disassembler")
struct AssemblerTests {
  @Test("binary and text round trip", arguments: everyInstruction)
  func roundTrip(instruction: Instruction) throws {
    let word = Encoding.encode(instruction)
    #expect(try Encoding.decode(word) == instruction)
    let text = Disassembler.text(instruction)
    #expect(try Assembler.assemble(text) == [instruction], "\(text)")
  }

  @Test func wholeProgramRoundTripsThroughBytes() throws {
    let bytes = Encoding.bytes(everyInstruction)
    #expect(bytes.count == 8 * everyInstruction.count)
    #expect(try Encoding.program(bytes) == everyInstruction)
    #expect(try Assembler.binary(try Disassembler.text(bytes: bytes)) == bytes)
  }

  @Test func labelsCommentsAndSpacing() throws {
    let program = try Assembler.assemble(
      """
      ; sum 0..<4 into x2
              li x1, 0      // counter
              li x3, 0x4
      loop:   add x2, x2, x1
              addi x1, x1, 1
              blt x1, x3, loop
      done: halt
      """)
    #expect(
      program == [
        .li(rd: 1, imm: 0), .li(rd: 3, imm: 4), .alu(.add, rd: 2, ra: 2, rb: 1), .addi(rd: 1, rs: 1, imm: 1),
        .branch(.blt, ra: 1, rb: 3, target: 2), .halt,
      ])
  }

  @Test(
    "malformed assembly names line and column",
    arguments: [
      ("halt\nfrob x1", 2, 1, "unknown instruction 'frob'"),
      ("li x32, 1", 1, 4, "expected a register x0…x31, found 'x32'"),
      ("li x1 1", 1, 7, "expected ',' before an immediate"),
      ("li x1, 99999999999", 1, 8, "does not fit in 32 signed bits"),
      ("add x1, x2", 1, 11, "expected ',' before a register"),
      ("jmp nowhere", 1, 5, "undefined label 'nowhere'"),
      ("a: halt\na: halt", 2, 1, "label 'a' is defined twice"),
      ("dma.gm2xx.f32.f32 x20", 1, 1, "expected dma.ROUTE.FROM.TO"),
      ("mmad.f32 x1, x2, x3, x4, x5, x6", 1, 1, "expected mmad.f16"),
      ("set_flag mte2, gpu, 0", 1, 16, "unknown unit 'gpu'"),
      ("wait_flag mte2, vector, 16", 1, 25, "flag id 16 is outside 0…15"),
      ("halt x1", 1, 6, "unexpected 'x1' after the operands"),
      ("vexp.f32 x1, x2, x3", 1, 1, "'vexp' takes no suffix"),
      ("1abel: halt", 1, 1, "a label must start with a letter"),
    ])
  func malformed(source: String, line: Int, column: Int, message: String) {
    do {
      _ = try Assembler.assemble(source)
      Issue.record("assembled: \(source)")
    } catch {
      guard case .assembly(let foundLine, let foundColumn, let foundMessage) = error else {
        Issue.record("wrong error \(error)")
        return
      }
      #expect(foundLine == line && foundColumn == column, "\(error)")
      #expect(foundMessage.contains(message), "\(foundMessage)")
    }
  }

  @Test(
    "undecodable words",
    arguments: [
      (UInt64(0xFF) << 56, "unknown opcode"),
      (UInt64(0x0F) << 56 | 1, "reserved bits are set"),
      (UInt64(0x20) << 56 | UInt64(0x70) << 48, "DMA route 7 does not exist"),
      (UInt64(0x41) << 56 | UInt64(0x3F) << 48, "vector function 63 does not exist"),
    ])
  func undecodable(word: UInt64, message: String) {
    #expect {
      _ = try Encoding.decode(word, pc: 9)
    } throws: { error in
      "\(error)".contains(message) && "\(error)".hasPrefix("pc 9")
    }
  }

  @Test func truncatedBinaryIsAnError() {
    #expect(throws: NPUError.self) { _ = try Encoding.program([1, 2, 3]) }
  }
}
