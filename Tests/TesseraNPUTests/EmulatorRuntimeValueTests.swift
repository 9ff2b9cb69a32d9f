import TesseraNPU
import Testing

/// The instructions that let a program act on run-time values: `ldg` (a scalar from global
/// memory), lane comparisons and selection, the first-maximum reduction and the DMA's
/// conversions between integers and floats, each against hand-computed results.
@Suite("NPU emulator: run-time indices, masks and argmax")
struct EmulatorRuntimeValueTests {
  /// The f32 whose bits are the i32 `value` (global memory holding an integer).
  static func integer(_ value: Int32) -> Float { Float(bitPattern: UInt32(bitPattern: value)) }

  @Test(
    "lane comparisons (NaN compares unequal)",
    arguments: [
      (VectorComparison.lt, [Float(0), 1, 0, 0]), (.le, [0, 1, 1, 0]), (.gt, [1, 0, 0, 0]), (.ge, [1, 0, 1, 0]),
      (.eq, [0, 0, 1, 0]), (.ne, [1, 1, 0, 1]),
    ])
  func compare(kind: VectorComparison, expected: [Float]) throws {
    let memory = try runFloats(
      vectorProgram("vcmp.\(kind) x3, x1, x2, x4\n"), [2, -3, 4, .nan, 1, 2, 4, 8, 0, 0, 0, 0])
    #expect(Array(memory[8...]) == expected)
  }

  @Test func selectTakesTheFirstOperandWhereTheMaskIsNotZero() throws {
    // mask at UB 0, a at 32, b at 64; the result at 96 goes to global element 12.
    let program =
      dmaText("dma.gm2ub.f32.f32", destination: 0, source: 0, dims: [(4, 1)])
      + dmaText("dma.gm2ub.f32.f32", destination: 32, source: 16, dims: [(4, 1)])
      + dmaText("dma.gm2ub.f32.f32", destination: 64, source: 32, dims: [(4, 1)])
      + "li x1, 0\nli x2, 32\nli x3, 64\nli x4, 96\nli x5, 4\nvsel x4, x1, x2, x3, x5\n"
      + dmaText("dma.ub2gm.f32.f32", destination: 48, source: 96, dims: [(4, 1)]) + "halt\n"
    let memory = try runFloats(program, [1, 0, -2, 0, 10, 11, 12, 13, 20, 21, 22, 23, 0, 0, 0, 0])
    #expect(Array(memory[12...]) == [10, 21, 12, 23])
  }

  @Test func iotaNumbersTheLanes() throws {
    let memory = try runFloats(vectorProgram("viota x3, x4\n", count: 5), [Float](repeating: 7, count: 13))
    #expect(Array(memory[8..<13]) == [0, 1, 2, 3, 4])
  }

  @Test func argmaxTakesTheFirstMaximumOrTheFirstNaN() throws {
    let program =
      dmaText("dma.gm2ub.f32.f32", destination: 0, source: 0, dims: [(12, 1)])
      + "li x1, 0\nli x2, 64\nli x3, 3\nli x4, 4\nvredargmax x2, x1, x3, x4\n"
      + dmaText("dma.ub2gm.f32.f32", destination: 48, source: 64, dims: [(3, 1)]) + "halt"
    let rows: [Float] = [1, 3, 3, 2, 5, .nan, 7, .nan, -1, -1, -1, -1]
    let memory = try runFloats(program, rows + [0, 0, 0])
    #expect(Array(memory[12...]) == [1, 1, 0])
  }

  @Test func loadGlobalPicksARowAtRunTime() throws {
    // Global element 0 holds the i32 2; rows of two floats start at element 4. The program
    // reads the index, computes the row's byte address 16 + 8·index and copies it to element 10.
    let copy =
      dmaText("dma.gm2ub.f32.f32", destination: 0, source: 0, dims: [(2, 1)]).replacingOccurrences(
        of: "dma.gm2ub.f32.f32 x20\n", with: "add x21, x21, x7\ndma.gm2ub.f32.f32 x20\n")
    let program =
      "ldg x5, x0, 0\nli x6, 8\nmul x7, x5, x6\naddi x7, x7, 16\n" + copy
      + dmaText("dma.ub2gm.f32.f32", destination: 40, source: 0, dims: [(2, 1)]) + "halt"
    let memory = try runFloats(program, [Self.integer(2), 0, 0, 0, 1, 2, 3, 4, 5, 6, 0, 0])
    #expect(Array(memory[10...]) == [5, 6])
  }

  @Test func loadGlobalOutsideGlobalMemoryFaults() throws {
    var memory = [UInt8](repeating: 0, count: 16)
    #expect {
      _ = try Emulator().run(try Assembler.assemble("li x1, 14\nldg x2, x1, 0\nhalt"), globalMemory: &memory)
    } throws: { error in
      "\(error)".contains("ldg x2, x1, 0") && "\(error)".contains("bytes [14, 18) are outside gm (16 bytes)")
    }
  }

  @Test func dmaConvertsIntegersToFloatsAndBack() throws {
    // i32 → f32 (2^24 + 1 rounds to 2^24), then f32 → i32 toward zero, and f32 → i8 saturating
    // (NaN → 0) into the bytes of global element 12.
    let program =
      dmaText("dma.gm2ub.i32.f32", destination: 0, source: 0, dims: [(4, 1)])
      + dmaText("dma.ub2gm.f32.f32", destination: 16, source: 0, dims: [(4, 1)])
      + dmaText("dma.gm2ub.f32.f32", destination: 32, source: 32, dims: [(4, 1)])
      + dmaText("dma.ub2gm.f32.i32", destination: 32, source: 32, dims: [(4, 1)])
      + dmaText("dma.ub2gm.f32.i8", destination: 48, source: 32, dims: [(4, 1)]) + "halt"
    let integers = [Int32(-7), 16_777_217, 0, 40].map(Self.integer)
    let memory = try runFloats(program, integers + [0, 0, 0, 0] + [2.9, -3.7, 300, .nan] + [0])
    #expect(Array(memory[4..<8]) == [-7, 16_777_216, 0, 40])
    #expect(memory[8..<12].map { Int32(bitPattern: $0.bitPattern) } == [2, -3, 300, 0])
    let bytes = withUnsafeBytes(of: memory[12].bitPattern.littleEndian) { $0.map { Int8(bitPattern: $0) } }
    #expect(bytes == [2, -3, 127, 0])
  }
}
