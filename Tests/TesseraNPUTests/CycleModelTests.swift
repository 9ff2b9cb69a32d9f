import TesseraNPU
import Testing

/// Cycle counts derived by hand from the default configuration: the scalar unit issues one
/// instruction per cycle and a dispatched instruction reaches its unit a cycle later; GM→UB
/// moves 128 B/cycle after 100 cycles of latency; the vector unit moves 256 B/cycle, exp takes
/// 4 passes, and each vector instruction adds 8 cycles of latency.
@Suite("NPU cycle model")
struct CycleModelTests {
  /// 10 `li` for the descriptor (cycles 0…9), the DMA issued at 10 starts at 11:
  /// 1024 bytes = 8 cycles of transfer + 100 latency, complete at 119.
  let load = dmaText("dma.gm2ub.f32.f32", destination: 0, source: 0, dims: [(256, 1)])

  private func cycles(_ source: String) throws -> CycleReport {
    var memory = [UInt8](repeating: 0, count: 1024)
    return try Emulator().run(try Assembler.assemble(source), globalMemory: &memory, trace: true)
  }

  @Test func dependentVectorOpWaitsForTheLoad() throws {
    // set_flag (issued 11) fires when the DMA completes (119); li, li (12, 13); wait_flag
    // (issued 14) releases the vector unit at 119; vexp (issued 15) runs 119…143:
    // 1024 bytes / 256 = 4 cycles x 4 passes = 16, + 8 latency.
    let report = try cycles(
      load + "set_flag mte2, vector, 0\nli x1, 0\nli x2, 256\nwait_flag mte2, vector, 0\nvexp x1, x1, x2\nhalt")
    #expect(report.cycles == 143)
    #expect(report.busy[.mte2] == 8)
    #expect(report.busy[.vector] == 24)
    #expect(report.bytes[.gm2ub] == 1024)
  }

  @Test func independentVectorOpOverlapsTheLoad() throws {
    // vexp on other data (issued 13, starts 14, done 38) runs under the DMA (done 119).
    let report = try cycles(load + "li x1, 1024\nli x2, 256\nvexp x1, x1, x2\nhalt")
    #expect(report.cycles == 119)
    let events = report.events.sorted { $0.start < $1.start }
    #expect(events.map(\.start) == [11, 14])
  }

  @Test func rowReductionWaitsForTheLoadAndCostsOnePass() throws {
    // The load is 4 rows of 64 f32. set_flag (issued 11), three li (12…14), wait_flag (issued
    // 15) releases the vector unit at 119; vredsum (issued 16) reads 1024 bytes: 4 cycles x 1
    // pass + 8 latency, done at 131.
    let report = try cycles(
      load + "set_flag mte2, vector, 0\nli x1, 1024\nli x2, 4\nli x3, 64\nwait_flag mte2, vector, 0\n"
        + "vredsum x1, x0, x2, x3\nhalt")
    #expect(report.cycles == 131)
    #expect(report.busy[.vector] == 12)
  }

  @Test func cubeCostsOneCyclePerFractal() throws {
    // m=32, k=48, n=16: 2·3·1 = 6 fractals; issued at 3, runs 4…10, + 16 latency = 26.
    let report = try cycles("li x1, 32\nli x2, 48\nli x3, 16\nmmad.f16 x0, x0, x0, x1, x2, x3\nhalt")
    #expect(report.cycles == 26)
    #expect(report.macs == 32 * 48 * 16)
    #expect(report.busy[.cube] == 6)
  }

  @Test func globalLoadStallsTheScalarUnitForTheReadLatency() throws {
    // li at cycle 0; ldg issues at 1 and waits 100 cycles of GM read latency for its word, so
    // the scalar unit is free again at 102, where halt finds every unit idle.
    let report = try cycles("li x1, 8\nldg x2, x1, 0\nhalt")
    #expect(report.cycles == 102)
  }

  @Test func compareCostsOnePassAndArgmaxTwo() throws {
    // vcmp over 256 lanes (issued 2, starts 3): 1024 bytes / 256 = 4 cycles + 8 latency, done
    // at 15. vredargmax over 4 rows of 64 (issued 3, starts after vcmp at 15): 4 cycles x 2
    // passes + 8 latency = 16, done at 31.
    let report = try cycles(
      "li x1, 0\nli x2, 256\nvcmp.lt x1, x1, x1, x2\nli x3, 4\nli x4, 64\nvredargmax x1, x1, x3, x4\nhalt")
    #expect(report.cycles == 31)
    #expect(report.busy[.vector] == 12 + 16)
  }

  @Test func traceIsChromeJSON() throws {
    let report = try cycles(load + "halt")
    let trace = report.chromeTrace
    #expect(trace.hasPrefix("{\"traceEvents\":["))
    #expect(
      trace.contains("\"name\":\"dma.gm2ub.f32.f32 x20\",\"ph\":\"X\",\"pid\":0,\"tid\":1,\"ts\":0.011,\"dur\":0.008"))
  }
}
