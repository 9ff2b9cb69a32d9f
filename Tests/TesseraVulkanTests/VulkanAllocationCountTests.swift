import TesseraIR
import TesseraRuntime
import Testing

@testable import TesseraVulkan

/// The Vulkan store's count of its buffers: each buffer at its size in whole words, and on a
/// staged context its host-visible twin too; back down when the memory is freed.
@Suite(
  "Allocation counts of a Vulkan device",
  .enabled(if: VulkanTestDevice.device != nil, Comment(rawValue: VulkanTestDevice.skipReason)))
struct VulkanAllocationCountTests {
  @Test("buffers (and staging twins) are counted until they are freed", arguments: [false, true])
  func buffersAreCounted(staged: Bool) throws {
    // A device of its own, so that no other test's buffers are in its count.
    let device = try #require(VulkanTestDevice.first(forceStaging: staged))
    let copies = staged ? 2 : 1  // a device-local buffer and its host-visible twin
    #expect(device.store.allocatedBytes == 0)
    var first: (any DeviceMemory)? = try device.store.allocate(bytes: 1000, name: "%a")
    #expect(device.store.allocatedBytes == 1000 * copies && first?.allocatedBytes == 1000 * copies)
    // 1001 bytes take 251 words.
    var odd: (any DeviceMemory)? = try device.store.allocate(bytes: 1001, name: "%b")
    #expect(device.store.allocatedBytes == (1000 + 1004) * copies)
    first = nil
    #expect(device.store.allocatedBytes == 1004 * copies && odd != nil)
    odd = nil
    #expect(device.store.allocatedBytes == 0)
  }
}
