import CVulkan
import Foundation
import TesseraCompiler
import TesseraIR
import TesseraRuntime

/// Lists every Vulkan physical device through the loader (opened with `dlopen`, reached only
/// through `vkGetInstanceProcAddr`/`vkGetDeviceProcAddr`): discrete GPUs first, then integrated,
/// virtual and CPU implementations such as lavapipe, named `vulkan:0`, `vulkan:1`… No loader, no
/// driver, or a device that fails to open gives an unavailable entry with the reason.
public struct VulkanProvider: DeviceProvider {
  /// Every device it lists is `vulkan`.
  public var kind: DeviceKind? { .vulkan }
  private let options: CompileOptions
  private let host: (any HostKernelRunner)?
  private let excludedOps: Set<OpKind>
  private let forceStaging: Bool
  private let maxWorkgroupCount: Int?
  private let subgroupSums: Bool
  private let choosesForCPU: Bool
  private let faults: FaultInjection

  /// Creates the provider; devices compile with `options` (passes, kernel library, fallback
  /// device name) and run steps assigned to the fallback through `host`. Ops in `excludedOps`
  /// are left to the fallback (to exercise partitioning, or to work around a driver bug).
  /// `forceStaging` keeps graph buffers in device-local memory reached through host-visible
  /// staging copies even where memory is unified, as discrete GPUs need (default: whether
  /// `TESSERA_VULKAN_STAGING=1`). `maxWorkgroupCount` caps the workgroups of one dispatch per
  /// axis below the device's `maxComputeWorkGroupCount` (to exercise split launches).
  /// `subgroupSums: false` keeps every reduction in shared memory even where the device has
  /// subgroup arithmetic (to test that path). `choosesForCPU: false` compiles as for a GPU even
  /// on a CPU implementation, which otherwise multiplies a prefill's decoded weights on the
  /// blocked matmul and keeps RMS norms in kernels of their own (to test the GPU's kernels
  /// there: the tiled quantized matmul, norms computed by the products). Devices inject
  /// `faults` (none by default).
  public init(
    options: CompileOptions = CompileOptions(), host: (any HostKernelRunner)? = nil, excludedOps: Set<OpKind> = [],
    forceStaging: Bool = ProcessInfo.processInfo.environment["TESSERA_VULKAN_STAGING"] == "1",
    maxWorkgroupCount: Int? = nil, subgroupSums: Bool = true, choosesForCPU: Bool = true,
    faults: FaultInjection = FaultInjection()
  ) {
    self.options = options
    self.host = host
    self.excludedOps = excludedOps
    self.forceStaging = forceStaging
    self.maxWorkgroupCount = maxWorkgroupCount
    self.subgroupSums = subgroupSums
    self.choosesForCPU = choosesForCPU
    self.faults = faults
  }

  /// Opens the loader and one instance, and every physical device with a compute queue.
  public func discover() -> [DeviceEntry] {
    let instance: VulkanInstance
    let physicalDevices: [VkPhysicalDevice]
    do {
      instance = try VulkanInstance()
      physicalDevices = try instance.physicalDevices()
    } catch {
      return [unavailable(error.description)]
    }
    guard !physicalDevices.isEmpty else {
      return [
        unavailable("the Vulkan loader found no physical device (is a driver such as mesa-vulkan-drivers installed?)")
      ]
    }
    let ranked = physicalDevices.map { ($0, instance.properties($0)) }.enumerated().sorted {
      (Self.rank($0.element.1.deviceType), $0.offset) < (Self.rank($1.element.1.deviceType), $1.offset)
    }
    return ranked.enumerated().map { index, entry in
      let (physical, properties) = entry.element
      var info = DeviceInfo(
        name: "vulkan:\(index)", kind: .vulkan, summary: cString(properties.deviceName),
        driver: "Vulkan \(Self.version(properties.apiVersion)), \(Self.typeName(properties.deviceType)), "
          + "driver 0x\(String(properties.driverVersion, radix: 16))",
        memoryBytes: Self.deviceLocalBytes(instance, physical), availability: .available)
      guard properties.apiVersion >= (1 << 22 | 1 << 12) else {
        info.availability = .unavailable(reason: "Vulkan \(Self.version(properties.apiVersion)); Tessera needs 1.1")
        return DeviceEntry(unavailable: info)
      }
      do throws(VulkanError) {
        let context = try VulkanContext(
          instance: instance, physical: physical, forceStaging: forceStaging, maxWorkgroupCount: maxWorkgroupCount)
        if context.staged { info.driver += ", device-local buffers with staging copies" }
        return DeviceEntry(
          device: try VulkanDevice(
            info: info, context: context, options: options, host: host, excludedOps: excludedOps,
            subgroupSums: subgroupSums, choosesForCPU: choosesForCPU, faults: faults))
      } catch {
        info.availability = .unavailable(reason: error.description)
        return DeviceEntry(unavailable: info)
      }
    }
  }

  private func unavailable(_ reason: String) -> DeviceEntry {
    DeviceEntry(
      unavailable: DeviceInfo(
        name: "vulkan", kind: .vulkan, summary: "-", driver: "-", availability: .unavailable(reason: reason)))
  }

  private static func rank(_ type: VkPhysicalDeviceType) -> Int {
    switch type {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: 0
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: 1
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: 2
    case VK_PHYSICAL_DEVICE_TYPE_CPU: 3
    default: 4
    }
  }

  private static func version(_ packed: UInt32) -> String {
    "\(packed >> 22 & 0x7F).\(packed >> 12 & 0x3FF).\(packed & 0xFFF)"
  }

  private static func typeName(_ type: VkPhysicalDeviceType) -> String {
    switch type {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: "discrete GPU"
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: "integrated GPU"
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: "virtual GPU"
    case VK_PHYSICAL_DEVICE_TYPE_CPU: "CPU"
    default: "other"
    }
  }

  private static func deviceLocalBytes(_ instance: VulkanInstance, _ physical: VkPhysicalDevice) -> Int? {
    var properties = VkPhysicalDeviceMemoryProperties()
    instance.functions.getMemoryProperties(physical, &properties)
    let total = withUnsafeBytes(of: properties.memoryHeaps) { raw in
      raw.bindMemory(to: VkMemoryHeap.self).prefix(Int(properties.memoryHeapCount))
        .filter { $0.flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT.rawValue != 0 }
        .reduce(0) { $0 + Int($1.size) }
    }
    return total > 0 ? total : nil
  }
}
