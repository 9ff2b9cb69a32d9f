import CVulkan
import TesseraRuntime

/// Lists every Vulkan physical device (`vulkan:0`, …) through the loader, opened with `dlopen`
/// and reached only through `vkGetInstanceProcAddr`. No loader, no driver or a failed instance
/// gives one unavailable entry with the reason.
///
/// SPIR-V code generation is not part of Tessera yet, so every device found is listed as
/// unavailable with that reason and its driver details.
public struct VulkanProvider: DeviceProvider {
  /// Creates the provider.
  public init() {}

  /// Creates a short-lived instance and enumerates physical devices.
  public func discover() -> [DeviceEntry] {
    let library: DynamicLibrary
    do {
      library = try DynamicLibrary(firstOf: ["libvulkan.so.1", "libvulkan.so"])
    } catch {
      return [unavailable("no Vulkan loader (libvulkan.so.1): \(error.message)")]
    }
    switch VulkanProbe.physicalDevices(library) {
    case .failure(let failure): return [unavailable(failure.reason)]
    case .success(let devices) where devices.isEmpty:
      return [
        unavailable("the Vulkan loader found no physical device (is a driver such as mesa-vulkan-drivers installed?)")
      ]
    case .success(let devices):
      return devices.enumerated().map { index, device in
        DeviceEntry(
          unavailable: DeviceInfo(
            name: "vulkan:\(index)", kind: .vulkan, summary: device.name, driver: device.driver,
            memoryBytes: device.memoryBytes,
            availability: .unavailable(reason: "driver found; the SPIR-V code generator is not built yet")))
      }
    }
  }

  private func unavailable(_ reason: String) -> DeviceEntry {
    DeviceEntry(
      unavailable: DeviceInfo(
        name: "vulkan", kind: .vulkan, summary: "-", driver: "-", availability: .unavailable(reason: reason)))
  }
}

/// What discovery learns about one physical device.
struct VulkanPhysicalDevice {
  var name: String
  var driver: String
  var memoryBytes: Int?
}

/// Why discovery failed, as text for the device list.
struct VulkanProbeFailure: Error {
  var reason: String
}

enum VulkanProbe {
  static func physicalDevices(_ library: DynamicLibrary) -> Result<[VulkanPhysicalDevice], VulkanProbeFailure> {
    guard let getInstanceProcAddr = library.function("vkGetInstanceProcAddr", as: PFN_vkGetInstanceProcAddr.self) else {
      return .failure(VulkanProbeFailure(reason: "\(library.name) does not export vkGetInstanceProcAddr"))
    }
    func global<T>(_ name: String, _ type: T.Type, _ instance: VkInstance? = nil) -> T? {
      getInstanceProcAddr(instance, name).map { unsafeBitCast($0, to: type) }
    }
    guard let createInstance = global("vkCreateInstance", PFN_vkCreateInstance.self) else {
      return .failure(VulkanProbeFailure(reason: "the loader has no vkCreateInstance"))
    }
    var instance: VkInstance?
    let status = "tessera".withCString { appName in
      var application = VkApplicationInfo()
      application.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO
      application.pApplicationName = appName
      application.apiVersion = (1 << 22) | (1 << 12)  // Vulkan 1.1
      return withUnsafePointer(to: &application) { applicationPointer in
        var create = VkInstanceCreateInfo()
        create.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO
        create.pApplicationInfo = applicationPointer
        return createInstance(&create, nil, &instance)
      }
    }
    guard status == VK_SUCCESS, let instance else {
      return .failure(
        VulkanProbeFailure(reason: "vkCreateInstance failed with VkResult \(status.rawValue) (no Vulkan 1.1 driver?)"))
    }
    defer { global("vkDestroyInstance", PFN_vkDestroyInstance.self, instance)?(instance, nil) }
    guard let enumerate = global("vkEnumeratePhysicalDevices", PFN_vkEnumeratePhysicalDevices.self, instance),
      let properties = global("vkGetPhysicalDeviceProperties", PFN_vkGetPhysicalDeviceProperties.self, instance),
      let memory = global("vkGetPhysicalDeviceMemoryProperties", PFN_vkGetPhysicalDeviceMemoryProperties.self, instance)
    else {
      return .failure(VulkanProbeFailure(reason: "the instance lacks the physical-device queries"))
    }
    var count: UInt32 = 0
    guard enumerate(instance, &count, nil) == VK_SUCCESS else {
      return .failure(VulkanProbeFailure(reason: "vkEnumeratePhysicalDevices failed"))
    }
    var handles = [VkPhysicalDevice?](repeating: nil, count: Int(count))
    guard count == 0 || enumerate(instance, &count, &handles) == VK_SUCCESS else {
      return .failure(VulkanProbeFailure(reason: "vkEnumeratePhysicalDevices failed"))
    }
    return .success(
      handles.map { handle in
        var info = VkPhysicalDeviceProperties()
        properties(handle, &info)
        var heaps = VkPhysicalDeviceMemoryProperties()
        memory(handle, &heaps)
        return VulkanPhysicalDevice(
          name: withUnsafeBytes(of: info.deviceName) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) },
          driver:
            "Vulkan \(version(info.apiVersion)), \(deviceType(info.deviceType)), driver 0x\(String(info.driverVersion, radix: 16))",
          memoryBytes: deviceLocalBytes(heaps))
      })
  }

  private static func version(_ packed: UInt32) -> String {
    "\(packed >> 22 & 0x7F).\(packed >> 12 & 0x3FF).\(packed & 0xFFF)"
  }

  private static func deviceType(_ type: VkPhysicalDeviceType) -> String {
    switch type {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: "discrete GPU"
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: "integrated GPU"
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: "virtual GPU"
    case VK_PHYSICAL_DEVICE_TYPE_CPU: "CPU"
    default: "other"
    }
  }

  private static func deviceLocalBytes(_ properties: VkPhysicalDeviceMemoryProperties) -> Int? {
    var heaps = properties.memoryHeaps
    let total = withUnsafeBytes(of: &heaps) { raw in
      raw.bindMemory(to: VkMemoryHeap.self).prefix(Int(properties.memoryHeapCount))
        .filter { $0.flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT.rawValue != 0 }
        .reduce(0) { $0 + Int($1.size) }
    }
    return total > 0 ? total : nil
  }
}
