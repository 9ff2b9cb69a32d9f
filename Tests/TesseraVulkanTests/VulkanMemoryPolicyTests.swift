import CVulkan
import Testing

@testable import TesseraVulkan

/// Memory type choices on layouts shaped like real drivers', built here by hand (no driver).
@Suite("Vulkan memory policy: discrete GPUs stage through cached host memory; shared memory is mapped")
struct VulkanMemoryPolicyTests {
  private static let local = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT.rawValue
  private static let visible = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT.rawValue
  private static let coherent = VK_MEMORY_PROPERTY_HOST_COHERENT_BIT.rawValue
  private static let cached = VK_MEMORY_PROPERTY_HOST_CACHED_BIT.rawValue

  /// A discrete GPU with a resizable BAR: heap 0 is its 80 GB of device memory, heap 1 the host's.
  /// Types: 0 none (heap 1), 1 device-local, 2 host coherent, 3 host coherent cached, 4 device-local
  /// and host-visible (the BAR window over heap 0).
  private static func discrete(_ type: VkPhysicalDeviceType, force: Bool = false) -> VulkanMemoryPolicy {
    VulkanMemoryPolicy(
      deviceType: type,
      typeFlags: [0, local, visible | coherent, visible | coherent | cached, local | visible | coherent],
      typeHeaps: [1, 0, 1, 1, 0], heapSizes: [80 << 30, 128 << 30], localHeaps: [0], forceStaging: force)
  }

  @Test("a discrete GPU with a BAR is staged: graph buffers in its own memory, twins in cached host memory")
  func discreteWithBAR() {
    let policy = Self.discrete(VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU)
    #expect(policy.staged)
    #expect(policy.deviceLocalType(0b11111) == 1)
    #expect(policy.hostVisibleType(0b11111) == 3)
    // When the buffer allows only some types, the best of those.
    #expect(policy.hostVisibleType(0b10100) == 2)
    #expect(policy.deviceLocalType(0b10000) == 4)
    #expect(policy.deviceLocalType(0b01100) == nil)
  }

  @Test("the same layout on an integrated GPU maps its buffers in the device-local, host-visible type")
  func integratedShares() {
    let policy = Self.discrete(VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU)
    #expect(!policy.staged)
    #expect(policy.hostVisibleType(0b11111) == 4)
    #expect(Self.discrete(VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU, force: true).staged)
  }

  @Test("a CPU driver (lavapipe: one type, all flags) maps its buffers")
  func cpuDriver() {
    let policy = VulkanMemoryPolicy(
      deviceType: VK_PHYSICAL_DEVICE_TYPE_CPU, typeFlags: [Self.local | Self.visible | Self.coherent | Self.cached],
      typeHeaps: [0], heapSizes: [2 << 30], localHeaps: [0], forceStaging: false)
    #expect(!policy.staged)
    #expect(policy.hostVisibleType(1) == 0)
    #expect(policy.deviceLocalType(1) == 0)
  }

  @Test("an integrated GPU whose largest device-local heap the host cannot map is staged")
  func unmappableHeap() {
    let policy = VulkanMemoryPolicy(
      deviceType: VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU,
      typeFlags: [Self.local, Self.visible | Self.coherent, Self.local | Self.visible | Self.coherent],
      typeHeaps: [0, 1, 2], heapSizes: [8 << 30, 16 << 30, 256 << 20], localHeaps: [0, 2], forceStaging: false)
    #expect(policy.staged)
    #expect(policy.hostVisibleType(0b111) == 1)
  }
}
