import TesseraCPU
import TesseraRuntime
import TesseraTestSupport
import Testing

/// Injected `alloc` faults on `cpu` fail the allocation they hit (a constant's upload at compile
/// time, the arena at a run) with an error naming the device and the buffer.
@Suite("Fault injection on cpu: allocations fail with the device and buffer named")
struct CPUFaultTests {
  private let graph = FaultTesting.graph

  @Test("each buffer the cpu allocates", arguments: ["b", "arena"])
  func eachBuffer(buffer: String) throws {
    let device = CPUDevice(faults: try FaultInjection(parsing: "alloc:cpu:buffer=\(buffer)"))
    let name = buffer == "arena" ? "the arena" : "%" + buffer
    let hit = "injected fault alloc:cpu:buffer=\(buffer) hit \(name)"
    do throws(DeviceError) {
      let compiled = try device.compile(graph)
      #expect(buffer != "b", "the constant %b is allocated at compile time")
      _ = try compiled.run(inputs: FaultTesting.inputs)
      Issue.record("the fault for \(name) failed nothing")
    } catch {
      guard case .allocationFailed("cpu", name, let bytes, hit) = error else {
        Issue.record("unexpected error: \(error)")
        return
      }
      if buffer == "b" { #expect(bytes == 24) }
      #expect(error.description == "cpu could not allocate \(name) (\(bytes) bytes): \(hit)")
    }
  }

  @Test func everyRunThatNeedsANewArenaFails() throws {
    let compiled = try CPUDevice(faults: try FaultInjection(parsing: "alloc:cpu:buffer=arena")).compile(graph)
    for _ in 0..<2 {
      #expect(throws: DeviceError.self, "no arena was kept, so each run allocates one") {
        try compiled.run(inputs: FaultTesting.inputs)
      }
    }
  }

  @Test func withoutAFilterTheFirstAllocationFails() throws {
    let device = CPUDevice(faults: try FaultInjection(parsing: "alloc:cpu"))
    #expect(
      throws: DeviceError.allocationFailed(
        device: "cpu", buffer: "%b", bytes: 24, message: "injected fault alloc:cpu hit %b")
    ) {
      try device.compile(graph)
    }
    #expect(device.injectableFaults == [.alloc])
  }

  @Test func faultsForOtherDevicesOrBuffersChangeNothing() throws {
    let faults = "alloc:opencl,alloc:cpu:buffer=nothing,alloc:cpu:3"
    let device = CPUDevice(faults: try FaultInjection(parsing: faults))
    #expect(try FaultTesting.matchReference(device.compile(graph).run(inputs: FaultTesting.inputs)))
  }

  @Test func aSmallInputIsCopiedIntoABufferOfItsOwn() throws {
    // %x (128 bytes) is below PlanRunner.smallestBorrowed: the run copies it into a kept buffer
    // (so the encoded steps stay valid) rather than reading it in place.
    let device = CPUDevice(faults: try FaultInjection(parsing: "alloc:cpu:buffer=x"))
    #expect {
      try device.compile(graph).run(inputs: FaultTesting.inputs)
    } throws: { error in
      "\(error)".contains("%x")
    }
  }
}
