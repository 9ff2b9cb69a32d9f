import Tessera
import Testing

/// ``AllocationCounter`` and the host store's count: up by exactly the bytes allocated, back
/// down when the memory is freed.
@Suite("Allocation counts of the host store")
struct AllocationCountTests {
  @Test("a counter holds the bytes of the live tokens")
  func counterFollowsTokens() {
    let counter = AllocationCounter()
    var first: CountedAllocation? = counter.count(100)
    let second = counter.count(28)
    #expect(counter.bytes == 128 && first?.bytes == 100 && second.bytes == 28)
    first = nil
    #expect(counter.bytes == 28)
  }

  @Test("the host store counts allocations and uploads until they are freed")
  func hostStoreCounts() throws {
    let store = HostTensorStore(deviceName: "host")
    #expect(store.allocatedBytes == 0)
    var memory: (any DeviceMemory)? = try store.allocate(bytes: 1000, name: "%a")
    #expect(store.allocatedBytes == 1000 && memory?.allocatedBytes == 1000)
    // f32[3,5] is 60 bytes; q4_0[2,32] is two blocks of 18 bytes.
    var uploads: [any DeviceMemory]? = [
      try store.upload(Tensor(repeating: 1, shape: [3, 5]), name: "%b"),
      try store.upload(Tensor(type: TensorType(.q4_0, [2, 32]), bytes: [UInt8](repeating: 0, count: 36))!, name: "%c"),
    ]
    #expect(store.allocatedBytes == 1000 + 60 + 36)
    #expect(uploads?.map(\.allocatedBytes) == [60, 36])
    memory = nil
    #expect(store.allocatedBytes == 96)
    uploads = nil
    #expect(store.allocatedBytes == 0)
  }

  @Test("a whole read of host memory shares its bytes, and a later write leaves that read as it was")
  func wholeReadIsACopyOnWriteShare() throws {
    let store = HostTensorStore(deviceName: "host")
    let memory = try store.allocate(bytes: 4, name: "%a")
    try [UInt8]([1, 2, 3, 4]).withUnsafeBytes { try store.write($0, to: memory, at: 0) }
    let read = try store.read(memory, at: 0, count: 4)
    try [UInt8]([9]).withUnsafeBytes { try store.write($0, to: memory, at: 1) }
    let after = try store.read(memory, at: 0, count: 4), tail = try store.read(memory, at: 2, count: 2)
    #expect(read == [1, 2, 3, 4] && after == [1, 9, 3, 4] && tail == [3, 4])
  }

  @Test("a device tensor's memory is counted by its device's store while it lives")
  func deviceTensorOnReference() throws {
    let device = ReferenceDevice()
    let before = device.store.allocatedBytes
    var tensor: DeviceTensor? = try device.allocate(TensorType(.f32, [4, 8]))
    #expect(device.store.allocatedBytes == before + 128)
    tensor = nil
    #expect(device.store.allocatedBytes == before && tensor == nil)
  }
}
