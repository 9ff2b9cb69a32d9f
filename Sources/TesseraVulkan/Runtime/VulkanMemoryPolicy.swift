import CVulkan

/// Where a device's graph buffers live and which memory types hold them, from the memory types'
/// property flags alone (so the choice is testable without a driver).
///
/// A discrete GPU keeps graph buffers in device-local memory the host never maps, and moves data
/// through host-side twins ("staged"), even when a resizable BAR makes its device memory
/// host-visible: the host's reads of BAR memory are uncached, and its writes cross the bus. (With
/// the graph's buffers mapped there, SGEMM 2048³ on an H100 took 0.54 s a run, transfers included;
/// the cause was not pinned down on that machine, and this policy is not yet measured there.)
/// Integrated GPUs and CPU drivers (lavapipe) share the host's memory and map their buffers.
struct VulkanMemoryPolicy: Equatable {
  /// Each memory type's `VkMemoryPropertyFlags`, in the driver's order.
  var typeFlags: [UInt32]
  /// Whether graph buffers are device-local with host-visible twins.
  var staged: Bool

  private static let deviceLocal = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT.rawValue
  private static let hostVisible = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT.rawValue
  private static let hostCoherent = VK_MEMORY_PROPERTY_HOST_COHERENT_BIT.rawValue
  private static let hostCached = VK_MEMORY_PROPERTY_HOST_CACHED_BIT.rawValue

  /// The policy for a device of `deviceType` whose memory types have `typeFlags` and live in heaps
  /// `typeHeaps` (an index per type) of `heapSizes`, of which `localHeaps` are device-local.
  init(
    deviceType: VkPhysicalDeviceType, typeFlags: [UInt32], typeHeaps: [Int], heapSizes: [UInt64], localHeaps: Set<Int>,
    forceStaging: Bool
  ) {
    self.typeFlags = typeFlags
    let shared = Self.deviceLocal | Self.hostVisible | Self.hostCoherent
    // Without a host-visible type on the largest device-local heap, buffers must be staged anyway.
    let largest = localHeaps.max { heapSizes[$0] < heapSizes[$1] }
    let mappable =
      largest.map { heap in typeFlags.indices.contains { typeHeaps[$0] == heap && typeFlags[$0] & shared == shared } }
      ?? true
    staged = forceStaging || deviceType == VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU || !mappable
  }

  /// The type for a buffer the host maps (a staged buffer's twin, or a graph buffer when not
  /// staged), among those `allowed` (a requirements bit mask): host-visible and coherent; for a
  /// twin preferably host memory the CPU caches (read back fast), else preferably device-local.
  func hostVisibleType(_ allowed: UInt32) -> Int? {
    best(allowed, required: Self.hostVisible | Self.hostCoherent) { flags in
      let local = flags & Self.deviceLocal != 0, cached = flags & Self.hostCached != 0
      return staged ? (local ? 0 : 2) + (cached ? 1 : 0) : (local ? 1 : 0)
    }
  }

  /// The type for a staged graph buffer among those `allowed`: device-local, preferably one the
  /// host cannot map (the device's own memory rather than its BAR window).
  func deviceLocalType(_ allowed: UInt32) -> Int? {
    best(allowed, required: Self.deviceLocal) { $0 & Self.hostVisible == 0 ? 1 : 0 }
  }

  /// The first allowed type with the `required` flags and the highest `score`.
  private func best(_ allowed: UInt32, required: UInt32, score: (UInt32) -> Int) -> Int? {
    let candidates = typeFlags.indices.filter {
      allowed & (1 << UInt32($0)) != 0 && typeFlags[$0] & required == required
    }
    return candidates.max { (score(typeFlags[$0]), -$0) < (score(typeFlags[$1]), -$1) }
  }
}
