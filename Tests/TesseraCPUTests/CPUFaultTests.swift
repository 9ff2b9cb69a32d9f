import TesseraCPU
import TesseraRuntime
import TesseraTestSupport
import Testing

/// Injected `alloc` faults on `cpu` fail the allocation they hit (a weight at compile time, an
/// input or the arena at each run) with an error naming the device and the buffer.
@Suite("Fault injection on cpu: allocations fail with the device and buffer named")
struct CPUFaultTests {
  private let graph = FaultTesting.graph

  @Test("each buffer", arguments: ["b", "x", "w", "arena"])
  func eachBuffer(buffer: String) throws {
    let device = CPUDevice(faults: try FaultInjection(parsing: "alloc:cpu:buffer=\(buffer)"))
    let name = buffer == "arena" ? "the arena" : "%" + buffer
    let hit = "injected fault alloc:cpu:buffer=\(buffer) hit \(name)"
    do throws(DeviceError) {
      let compiled = try device.compile(graph)
      #expect(buffer != "b", "the weight %b is allocated at compile time")
      _ = try compiled.run(inputs: FaultTesting.inputs)
      Issue.record("the fault for \(name) failed nothing")
    } catch {
      guard case .allocationFailed("cpu", name, let bytes, hit) = error else {
        Issue.record("unexpected error: \(error)")
        return
      }
      let sizes = ["b": 24, "x": 128, "w": 192]
      if let size = sizes[buffer] { #expect(bytes == size) }
      #expect(error.description == "cpu could not allocate \(name) (\(bytes) bytes): \(hit)")
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
    let device = CPUDevice(faults: try FaultInjection(parsing: "alloc:opencl,alloc:cpu:buffer=nothing,alloc:cpu:3"))
    #expect(try FaultTesting.matchReference(device.compile(graph).run(inputs: FaultTesting.inputs)))
  }
}
