import TesseraNPU
import Testing

/// Assembly for a DMA: loads the descriptor x20…x29 (dims outermost first, padded to four).
func dmaText(_ mnemonic: String, destination: Int, source: Int, dims: [(Int, Int)]) -> String {
  let padded = [(Int, Int)](repeating: (1, 0), count: 4 - dims.count) + dims
  let fields = [destination, source] + padded.flatMap { [$0.0, $0.1] }
  return fields.enumerated().map { "li x\(20 + $0.offset), \($0.element)\n" }.joined() + "\(mnemonic) x20\n"
}

/// Runs `source` over a global memory of f32 values; returns global memory as f32 values.
func runFloats(_ source: String, _ memory: [Float], config: NPUConfig = NPUConfig()) throws -> [Float] {
  var bytes = memory.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
  _ = try Emulator(config: config).run(try Assembler.assemble(source), globalMemory: &bytes)
  return stride(from: 0, to: bytes.count, by: 4).map { offset in
    Float(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) })
  }
}

/// Loads 4 floats from global element `a` to UB 0 and from `b` to UB 32, runs `body`, stores 4
/// floats from UB 64 to global element 8.
func vectorProgram(_ body: String, count: Int = 4) -> String {
  dmaText("dma.gm2ub.f32.f32", destination: 0, source: 0, dims: [(count, 1)])
    + dmaText("dma.gm2ub.f32.f32", destination: 32, source: 16, dims: [(count, 1)])
    + "li x1, 0\nli x2, 32\nli x3, 64\nli x4, \(count)\n" + body
    + dmaText("dma.ub2gm.f32.f32", destination: 32, source: 64, dims: [(count, 1)]) + "halt\n"
}

@Suite("NPU emulator: each instruction against hand-computed results")
struct EmulatorTests {
  @Test func stridedDMATransposes() throws {
    let program =
      dmaText("dma.gm2ub.f32.f32", destination: 0, source: 0, dims: [(3, 1), (2, 3)])
      + dmaText("dma.ub2gm.f32.f32", destination: 24, source: 0, dims: [(6, 1)]) + "halt"
    let memory = try runFloats(program, [1, 2, 3, 4, 5, 6] + [Float](repeating: 0, count: 6))
    #expect(Array(memory[6...]) == [1, 4, 2, 5, 3, 6])
  }

  @Test func dmaConvertsToHalfAndBack() throws {
    let program =
      dmaText("dma.gm2ub.f32.f16", destination: 0, source: 0, dims: [(2, 1)])
      + dmaText("dma.ub2gm.f16.f32", destination: 8, source: 0, dims: [(2, 1)]) + "halt"
    let memory = try runFloats(program, [1.0 / 3, 65519, 0, 0])
    // 1/3 → 0x3555 = 0.333251953125; 65519 rounds to the largest half, 65504.
    #expect(Array(memory[2...]) == [0.333251953125, 65504])
  }

  @Test(
    "binary vector functions",
    arguments: [
      (VectorBinary.add, [Float(3), -1, 4.5, 12]), (.sub, [1, -5, -3.5, -4]), (.mul, [2, -6, 2, 32]),
      (.div, [2, -1.5, 0.125, 0.5]), (.max, [2, 2, 4, 8]), (.min, [1, -3, 0.5, 4]), (.pow, [2, 9, 0.0625, 65536]),
    ])
  func binary(function: VectorBinary, expected: [Float]) throws {
    let memory = try runFloats(vectorProgram("v\(function) x3, x1, x2, x4\n"), [2, -3, 0.5, 4, 1, 2, 4, 8, 0, 0, 0, 0])
    #expect(Array(memory[8...]) == expected)
  }

  @Test(
    "unary vector functions",
    arguments: [
      (VectorUnary.neg, [Float(-4), 0.25, -1, -16]), (.abs, [4, 0.25, 1, 16]), (.relu, [4, 0, 1, 16]),
      (.rec, [0.25, -4, 1, 0.0625]), (.round16, [4, -0.25, 1, 16]),
    ])
  func unary(function: VectorUnary, expected: [Float]) throws {
    let memory = try runFloats(vectorProgram("v\(function) x3, x1, x4\n"), [4, -0.25, 1, 16, 0, 0, 0, 0, 0, 0, 0, 0])
    #expect(Array(memory[8...]) == expected)
  }

  @Test(
    "square roots and logarithms",
    arguments: [
      (VectorUnary.sqrt, [Float(2), 0.5, 1, 4]), (.rsqrt, [0.5, 2, 1, 0.25]),
      (.ln, [1.3862944, -1.3862944, 0, 2.7725887]),
    ])
  func roots(function: VectorUnary, expected: [Float]) throws {
    let memory = try runFloats(vectorProgram("v\(function) x3, x1, x4\n"), [4, 0.25, 1, 16, 0, 0, 0, 0, 0, 0, 0, 0])
    for (found, wanted) in zip(memory[8...], expected) { #expect(Swift.abs(found - wanted) <= 1e-6) }
  }

  @Test("row reductions", arguments: [(VectorReduction.sum, [Float(6), 15]), (.max, [3, 6]), (.min, [1, 4])])
  func reductions(function: VectorReduction, expected: [Float]) throws {
    let program =
      dmaText("dma.gm2ub.f32.f32", destination: 0, source: 0, dims: [(6, 1)])
      + "li x1, 0\nli x2, 64\nli x3, 2\nli x4, 3\nvred\(function) x2, x1, x3, x4\n"
      + dmaText("dma.ub2gm.f32.f32", destination: 24, source: 64, dims: [(2, 1)]) + "halt"
    let memory = try runFloats(program, [1, 2, 3, 4, 5, 6, 0, 0])
    #expect(Array(memory[6...]) == expected)
  }

  @Test("cube multiply-accumulate", arguments: [false, true])
  func mmad(accumulateTwice: Bool) throws {
    // A = [[1,2,3],[4,5,6]], B = [[7,8],[9,10],[11,12]]: A·B = [[58,64],[139,154]].
    let program =
      dmaText("dma.gm2l1.f32.f16", destination: 0, source: 0, dims: [(6, 1)])
      + dmaText("dma.gm2l1.f32.f16", destination: 64, source: 24, dims: [(6, 1)])
      + dmaText("dma.l12l0a.f16.f16", destination: 0, source: 0, dims: [(6, 1)])
      + dmaText("dma.l12l0b.f16.f16", destination: 0, source: 64, dims: [(6, 1)])
      + "li x1, 0\nli x2, 2\nli x3, 3\nmmad.f16 x1, x1, x1, x2, x3, x2\n"
      + (accumulateTwice ? "mmad.f16.acc x1, x1, x1, x2, x3, x2\n" : "")
      + dmaText("dma.l0c2ub.f32.f32", destination: 0, source: 0, dims: [(4, 1)])
      + dmaText("dma.ub2gm.f32.f32", destination: 48, source: 0, dims: [(4, 1)]) + "halt"
    let memory = try runFloats(program, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0, 0, 0, 0])
    let once: [Float] = [58, 64, 139, 154]
    #expect(Array(memory[12...]) == (accumulateTwice ? once.map { $0 * 2 } : once))
  }

  @Test func cubeRoundsOperandsToHalf() throws {
    // 2049 is not a half: it rounds to 2048, so 2049 · 1 gives 2048 on the cube.
    let program =
      dmaText("dma.gm2l1.f32.f16", destination: 0, source: 0, dims: [(2, 1)])
      + dmaText("dma.l12l0a.f16.f16", destination: 0, source: 0, dims: [(1, 1)])
      + dmaText("dma.l12l0b.f16.f16", destination: 0, source: 2, dims: [(1, 1)])
      + "li x1, 0\nli x2, 1\nmmad.f16 x1, x1, x1, x2, x2, x2\n"
      + dmaText("dma.l0c2ub.f32.f32", destination: 0, source: 0, dims: [(1, 1)])
      + dmaText("dma.ub2gm.f32.f32", destination: 8, source: 0, dims: [(1, 1)]) + "halt"
    #expect(try runFloats(program, [2049, 1, 0])[2] == 2048)
  }

  @Test func dequantizesQ8Blocks() throws {
    // Scale 0.5 (half 0x3800), quants j - 16: element j is (j - 16) / 2.
    var block: [UInt8] = [0x00, 0x38] + (0..<32).map { UInt8(bitPattern: Int8($0 - 16)) }
    block += [UInt8](repeating: 0, count: 2)  // pad to whole floats
    let words = stride(from: 0, to: block.count, by: 4).map { offset in
      Float(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(block[offset + $1]) << (8 * $1) })
    }
    let program =
      dmaText("dma.gm2ub.i8.i8", destination: 256, source: 0, dims: [(34, 1)])
      + "li x1, 0\nli x2, 256\nli x3, 1\nvdeq.q8_0 x1, x2, x3\n"
      + dmaText("dma.ub2gm.f32.f32", destination: 36, source: 0, dims: [(32, 1)]) + "halt"
    let memory = try runFloats(program, words + [Float](repeating: 0, count: 32))
    #expect(Array(memory[9...]) == (0..<32).map { Float($0 - 16) / 2 })
  }

  @Test func scalarLoopsAndVdup() throws {
    // x5 = 1 + 2 + … + 10 = 55, written as a bit pattern.
    let program = """
      li x1, 1
      li x2, 11
      loop: add x5, x5, x1
      addi x1, x1, 1
      blt x1, x2, loop
      li x6, 1
      vdup x0, x5, x6
      """ + "\n" + dmaText("dma.ub2gm.f32.f32", destination: 0, source: 0, dims: [(1, 1)]) + "halt"
    #expect(try runFloats(program, [0])[0].bitPattern == 55)
  }

  @Test func outOfBoundsAccessIsAFaultWithPcAndInstruction() {
    let program = dmaText("dma.gm2ub.f32.f32", destination: 0, source: 8, dims: [(4, 1)]) + "halt"
    #expect {
      _ = try runFloats(program, [1, 2, 3, 4])
    } throws: { error in
      guard case .fault(let pc, let instruction, let message)? = error as? NPUError else { return false }
      return pc == 10 && instruction == "dma.gm2ub.f32.f32 x20" && message.contains("outside gm (16 bytes)")
    }
  }

  @Test func misalignedVectorAccessIsAFault() {
    #expect(throws: NPUError.self) { _ = try runFloats("li x1, 4\nli x2, 8\nvexp x1, x1, x2\nhalt", []) }
  }

  @Test func waitingOnAFlagNobodyRaisesIsADeadlock() {
    #expect {
      _ = try runFloats("wait_flag mte2, vector, 3\nhalt", [])
    } throws: { error in
      "\(error)".contains("vector at pc 0: wait_flag mte2, vector, 3")
    }
  }

  @Test func runningOffTheEndIsAFault() {
    #expect(throws: NPUError.self) { _ = try runFloats("li x1, 1", []) }
  }

  @Test func endlessLoopsHitTheBudget() {
    var config = NPUConfig()
    config.instructionBudget = 1000
    #expect(throws: NPUError.self) { _ = try runFloats("spin: jmp spin", [], config: config) }
  }
}

@Suite("NPU emulator: on-chip buffers between runs")
struct OnChipBufferReuseTests {
  @Test func everyRunStartsWithZeroedBuffers() throws {
    // The first program fills UB with 7s and stores them; the second stores UB as it finds it,
    // on the same emulator (whose buffers are kept between runs): it must find zeros.
    let emulator = Emulator()
    let fill =
      "li x1, 0\nli x2, \(Float(7).bitPattern)\nli x3, 8\nvdup x1, x2, x3\n"
      + "set_flag vector, mte3, 0\nwait_flag vector, mte3, 0\n"
      + dmaText("dma.ub2gm.f32.f32", destination: 0, source: 0, dims: [(8, 1)]) + "halt\n"
    let read = dmaText("dma.ub2gm.f32.f32", destination: 32, source: 0, dims: [(8, 1)]) + "halt\n"
    var bytes = [UInt8](repeating: 0xFF, count: 64)
    _ = try emulator.run(try Assembler.assemble(fill), globalMemory: &bytes)
    _ = try emulator.run(try Assembler.assemble(read), globalMemory: &bytes)
    let floats = stride(from: 0, to: 64, by: 4).map { offset in
      Float(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) })
    }
    #expect(floats == [Float](repeating: 7, count: 8) + [Float](repeating: 0, count: 8))
  }
}
