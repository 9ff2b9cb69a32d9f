import Foundation
import TesseraCPU
import TesseraCompiler
import TesseraIR
import TesseraNPU
import TesseraRuntime
import TesseraTestSupport
import Testing

/// An npu device like ``npuDevice()`` that runs each segment as `granularity` says and records
/// the cycle model.
func npuDevice(_ granularity: NPUProgramGranularity) -> NPUDevice {
  NPUDevice(
    options: CompileOptions(passes: PassPipeline.standard(evaluator: ReferenceConstantEvaluator()), fallback: "cpu"),
    host: InterpreterKernelRunner(), recordsCycles: true, granularity: granularity)
}

/// Global memory of f32 `values` as bytes.
private func floatBytes(_ values: [Float]) -> [UInt8] {
  values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
}

/// The f32 at element `index` of `bytes`.
private func float(_ bytes: [UInt8], _ index: Int) -> Float {
  Float(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[4 * index + $1]) << (8 * $1) })
}

/// Runs `steps` over `memory` one program after another, as the per-step backend does.
private func runPerStep(_ steps: [[Instruction]], _ memory: [UInt8]) throws -> (bytes: [UInt8], cycles: Int) {
  var bytes = memory
  var cycles = 0
  for step in steps { cycles += try Emulator().run(step, globalMemory: &bytes).cycles }
  return (bytes, cycles)
}

/// Runs `program` over `memory`.
private func run(_ program: [Instruction], _ memory: [UInt8]) throws -> (bytes: [UInt8], cycles: Int) {
  var bytes = memory
  let cycles = try Emulator().run(program, globalMemory: &bytes).cycles
  return (bytes, cycles)
}

/// The steps joined with their `halt`s removed and nothing added: what linking without the
/// hazard analysis would give.
private func naivelyJoined(_ steps: [[Instruction]]) -> [Instruction] {
  steps.flatMap { $0.filter { $0 != .halt } } + [.halt]
}

/// A vector op long enough (16384 lanes: 256 cycles) to hold back what waits for it.
private let longVectorOp = "li x1, 0\nli x2, 16384\nvdup x1, x0, x2\n"

@Suite("NPU linked programs: one program per segment")
struct ProgramLinkerTests {
  @Test("random graphs: linked programs write the per-step bytes in no more cycles", arguments: 0..<24)
  func randomGraphs(seed: UInt64) throws {
    var generator = RandomGraphGenerator(seed: seed)
    let graph = try generator.makeGraph(operations: 12)
    let inputs = generator.inputs(for: graph)
    let (perStep, linked) = (npuDevice(.perStep), npuDevice(.linked))
    let expected = try perStep.compile(graph).run(inputs: inputs)
    let actual = try linked.compile(graph).run(inputs: inputs)
    #expect(actual.map(\.bytes) == expected.map(\.bytes), "seed \(seed)")
    let (perStepCycles, linkedCycles) = (perStep.takeCycleReport()!.cycles, linked.takeCycleReport()!.cycles)
    #expect(linkedCycles <= perStepCycles, "seed \(seed)")
  }

  @Test func independentMatmulsOverlapAndReusedArenaBytesAreRespected() throws {
    // q, k and v read the same x and no step's result; the arena reuses the bytes of values that
    // died (WAR and WAW between steps).
    let graph = try TestSupport.parseOne(
      """
      func @f(%x: f32[1,192], %wq: f32[192,256], %wk: f32[192,64], %wv: f32[192,64], %wo: f32[256,192]) -> f32[1,192] {
        %n = mul %x, %x : f32[1,192]
        %q = matmul %n, %wq : f32[1,256]
        %k = matmul %n, %wk : f32[1,64]
        %v = matmul %n, %wv : f32[1,64]
        %s = reduce_sum %k {axes = [1], keepdims = true} : f32[1,1]
        %t = reduce_sum %v {axes = [1], keepdims = true} : f32[1,1]
        %u = add %s, %t : f32[1,1]
        %r = mul %q, %u : f32[1,256]
        %o = matmul %r, %wo : f32[1,192]
        %y = add %o, %x : f32[1,192]
        return %y
      }
      """)
    var random = SeededRandom(seed: 3)
    let inputs = graph.argumentTypes.map { Tensor.random($0, using: &random) }
    let (perStep, linked) = (npuDevice(.perStep), npuDevice(.linked))
    let expected = try perStep.compile(graph).run(inputs: inputs)
    let actual = try linked.compile(graph).run(inputs: inputs)
    #expect(actual.map(\.bytes) == expected.map(\.bytes))
    let (perStepCycles, linkedCycles) = (perStep.takeCycleReport()!.cycles, linked.takeCycleReport()!.cycles)
    #expect(linkedCycles < perStepCycles, "\(linkedCycles) vs \(perStepCycles)")
  }

  @Test func twoIndependentLoadsOverlapAsDerivedByHand() throws {
    // Each step: 10 `li` (cycles 0-9), the DMA dispatched at 10 starts at 11, is busy 32 cycles
    // (4096 B at 128 B/cycle) and completes 100 later, at 143; `barrier` waits until 143 and takes
    // a cycle, `halt` ends at 144. Linked: the second step's `li`s issue at 11-20 and its DMA
    // (dispatched at 21) starts when mte2 is free at 43 and completes at 175; barrier, halt: 176.
    let first = try Assembler.assemble(
      dmaText("dma.gm2ub.f32.f32", destination: 0, source: 0, dims: [(1024, 1)]) + "barrier\nhalt\n")
    let second = try Assembler.assemble(
      dmaText("dma.gm2ub.f32.f32", destination: 4096, source: 4096, dims: [(1024, 1)]) + "barrier\nhalt\n")
    let memory = [UInt8](repeating: 0, count: 8192)
    let linked = try ProgramLinker.link([first, second])
    #expect(try runPerStep([first, second], memory).cycles == 144 + 144)
    #expect(try run(linked.program, memory).cycles == 176)
    #expect(!linked.program.contains { if case .waitFlag = $0 { true } else { false } })
    #expect(linked.stepStarts == [0, 11])
  }

  @Test func aStepReadsWhatThePreviousStepStored() throws {
    // Step 1 stores 7.0 late (after a long vector op); step 2 loads those bytes and copies them.
    let first = try Assembler.assemble(
      longVectorOp + "li x3, 0x40e00000\nli x4, 8\nli x5, 65536\nvdup x5, x3, x4\nset_flag vector, mte3, 0\n"
        + "wait_flag vector, mte3, 0\n"
        + dmaText("dma.ub2gm.f32.f32", destination: 0, source: 65536, dims: [(8, 1)]) + "halt\n")
    let second = try Assembler.assemble(
      dmaText("dma.gm2ub.f32.f32", destination: 131072, source: 0, dims: [(8, 1)])
        + "set_flag mte2, mte3, 0\nwait_flag mte2, mte3, 0\n"
        + dmaText("dma.ub2gm.f32.f32", destination: 64, source: 131072, dims: [(8, 1)]) + "halt\n")
    let memory = floatBytes([Float](repeating: 0, count: 24))
    let expected = try runPerStep([first, second], memory).bytes
    #expect((16..<24).map { float(expected, $0) } == [Float](repeating: 7, count: 8))
    let linked = try ProgramLinker.link([first, second])
    #expect(linked.program.contains(.waitFlag(from: .mte3, to: .mte2, id: ProgramLinker.flagID)))
    #expect(try run(linked.program, memory).bytes == expected)
    // Without the linker's flag the load overtakes the store: the hazard is real.
    #expect(try run(naivelyJoined([first, second]), memory).bytes != expected)
  }

  @Test func aLaterLoadDoesNotClobberWhatAnEarlierStepStillHasToRead() throws {
    // Step 1 loads global 0..<8 into UB 65536 and reads them there only after a long vector op
    // (doubling them into UB 131072, stored to global 16..<24); step 2 loads global 8..<16 into
    // the same UB bytes.
    let first = try Assembler.assemble(
      dmaText("dma.gm2ub.f32.f32", destination: 65536, source: 0, dims: [(8, 1)])
        + "set_flag mte2, vector, 0\nwait_flag mte2, vector, 0\n" + longVectorOp
        + "li x3, 65536\nli x4, 131072\nli x5, 8\nvadd x4, x3, x3, x5\nset_flag vector, mte3, 0\n"
        + "wait_flag vector, mte3, 0\n"
        + dmaText("dma.ub2gm.f32.f32", destination: 64, source: 131072, dims: [(8, 1)]) + "halt\n")
    let second = try Assembler.assemble(
      dmaText("dma.gm2ub.f32.f32", destination: 65536, source: 32, dims: [(8, 1)]) + "halt\n")
    let memory = floatBytes((0..<24).map { $0 < 16 ? Float($0 + 1) : 0 })
    let expected = try runPerStep([first, second], memory).bytes
    #expect((16..<24).map { float(expected, $0) } == (1...8).map { Float(2 * $0) })
    let linked = try ProgramLinker.link([first, second])
    #expect(linked.program.contains(.waitFlag(from: .vector, to: .mte2, id: ProgramLinker.flagID)))
    #expect(try run(linked.program, memory).bytes == expected)
    #expect(try run(naivelyJoined([first, second]), memory).bytes != expected)
  }

  @Test func aRunTimeIndexIsReadOnlyAfterTheStoreBeforeIt() throws {
    // Step 1 stores the i32 3 late; step 2 reads it with `ldg` and broadcasts its bits.
    let first = try Assembler.assemble(
      longVectorOp + "li x3, 0x40400000\nli x4, 8\nli x5, 65536\nvdup x5, x3, x4\nset_flag vector, mte3, 0\n"
        + "wait_flag vector, mte3, 0\n"
        + dmaText("dma.ub2gm.f32.i32", destination: 0, source: 65536, dims: [(1, 1)]) + "halt\n")
    let second = try Assembler.assemble(
      "ldg x6, x0, 0\nli x7, 8\nli x8, 131072\nvdup x8, x6, x7\nset_flag vector, mte3, 0\nwait_flag vector, mte3, 0\n"
        + dmaText("dma.ub2gm.f32.f32", destination: 64, source: 131072, dims: [(8, 1)]) + "halt\n")
    let memory = floatBytes([Float](repeating: 0, count: 24))
    let expected = try runPerStep([first, second], memory).bytes
    #expect((16..<24).map { float(expected, $0).bitPattern } == [UInt32](repeating: 3, count: 8))
    let linked = try ProgramLinker.link([first, second])
    let load = linked.program.firstIndex { if case .loadGlobal = $0 { true } else { false } }!
    #expect(linked.program[load - 1] == .barrier)
    #expect(try run(linked.program, memory).bytes == expected)
    #expect(try run(naivelyJoined([first, second]), memory).bytes != expected)
  }

  @Test func flagsAStepLeavesRaisedAreWaitedOffBeforeTheNextStepWaitsOnThem() throws {
    // Step 1 raises (mte2, mte3, 0) and never waits; step 2 waits on the same flag for its own load.
    let first = try Assembler.assemble(
      dmaText("dma.gm2ub.f32.f32", destination: 0, source: 0, dims: [(8, 1)]) + "set_flag mte2, mte3, 0\nhalt\n")
    let second = try Assembler.assemble(
      dmaText("dma.gm2ub.f32.f32", destination: 131072, source: 32, dims: [(8, 1)])
        + "set_flag mte2, mte3, 0\nwait_flag mte2, mte3, 0\n"
        + dmaText("dma.ub2gm.f32.f32", destination: 64, source: 131072, dims: [(8, 1)]) + "halt\n")
    let linked = try ProgramLinker.link([first, second])
    let waits = linked.program.filter { $0 == .waitFlag(from: .mte2, to: .mte3, id: 0) }
    #expect(waits.count == 2)
    let memory = floatBytes((0..<24).map(Float.init))
    #expect(try run(linked.program, memory).bytes == (try runPerStep([first, second], memory).bytes))
  }

  @Test func theLinkedTraceIsOnePerfettoDocument() throws {
    let first = try Assembler.assemble(
      dmaText("dma.gm2ub.f32.f32", destination: 0, source: 0, dims: [(1024, 1)]) + "barrier\nhalt\n")
    let second = try Assembler.assemble(
      dmaText("dma.gm2ub.f32.f32", destination: 4096, source: 4096, dims: [(1024, 1)]) + "barrier\nhalt\n")
    var memory = [UInt8](repeating: 0, count: 8192)
    let report = try Emulator().run(ProgramLinker.link([first, second]).program, globalMemory: &memory, trace: true)
    let document = try JSONSerialization.jsonObject(with: Data(report.chromeTrace.utf8)) as? [String: Any]
    let events = try #require(document?["traceEvents"] as? [[String: Any]])
    #expect(events.filter { $0["name"] as? String == "dma.gm2ub.f32.f32 x20" }.count == 2)
  }

  @Test(
    "programs the linker refuses",
    arguments: [
      ("li x1, 0\nset_flag mte2, mte3, 15\nwait_flag mte2, mte3, 15\nhalt", "flag 15"),
      ("li x1, 0\nwait_flag mte2, mte3, 0\nhalt", "more often than it raises it"),
      ("loop: li x1, 0\nli x2, 8\nvdup x1, x0, x2\njmp loop\nhalt", "loops back over unit instructions"),
      ("li x1, 0\nhalt\nhalt", "halts before the end"),
      ("li x1, 0", "does not end with halt"),
    ])
  func refused(source: String, reason: String) throws {
    let program = try Assembler.assemble(source)
    #expect {
      _ = try ProgramLinker.link([program, program])
    } throws: { error in
      "\(error)".contains(reason) && "\(error)".contains("step 0")
    }
  }
}
