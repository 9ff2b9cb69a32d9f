import TesseraIR
import TesseraRuntime
import Testing

@testable import TesseraOpenCL

/// The OpenCL store's count of its buffers: up by exactly each buffer's size, back down when the
/// buffer is released.
@Suite("Allocation counts of an OpenCL device", .enabled(if: OpenCLTestDevice.available, OpenCLTestDevice.reason))
struct OpenCLAllocationCountTests {
  @Test("buffers are counted at their sizes until they are released")
  func buffersAreCounted() throws {
    // A device of its own, so that no other test's buffers are in its count.
    let device = try OpenCLTestDevice.device!.configured()
    #expect(device.allocatedBytes == 0)
    var first: (any DeviceMemory)? = try device.allocate(bytes: 1000, name: "%a")
    #expect(device.allocatedBytes == 1000 && first?.allocatedBytes == 1000)
    // An empty value still gets a buffer of 4 bytes from the driver.
    var empty: (any DeviceMemory)? = try device.allocate(bytes: 0, name: "%empty")
    var tensor: DeviceTensor? = try device.upload(Tensor(repeating: 1, shape: [3, 5]))
    #expect(device.allocatedBytes == 1000 + 4 + 60 && empty?.allocatedBytes == 4)
    first = nil
    empty = nil
    #expect(device.allocatedBytes == 60 && tensor?.memory.allocatedBytes == 60)
    tensor = nil
    #expect(device.allocatedBytes == 0)
  }
}
