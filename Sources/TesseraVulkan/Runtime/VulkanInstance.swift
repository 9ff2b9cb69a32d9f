import CVulkan
import Foundation
import TesseraRuntime

/// The Vulkan loader opened with `dlopen` and one `VkInstance` (Vulkan 1.1), with the Khronos
/// validation layer when `TESSERA_VULKAN_VALIDATION=1` and the layer is installed.
///
/// Thread safety: immutable after `init`; the instance-level queries Tessera makes are
/// thread-safe per the specification, so `@unchecked Sendable` holds. Destroyed in `deinit`,
/// after every device made from it (they hold a reference).
final class VulkanInstance: @unchecked Sendable {
  let library: DynamicLibrary
  let handle: VkInstance
  let functions: InstanceFunctions
  /// Whether the validation layer is enabled.
  let validation: Bool

  init() throws(VulkanError) {
    do {
      library = try DynamicLibrary(firstOf: [
        "libvulkan.so.1", "libvulkan.so", "libvulkan.1.dylib", "libMoltenVK.dylib",
      ])
    } catch {
      throw .loader("no Vulkan loader (libvulkan.so.1): \(error.message)")
    }
    guard let getInstanceProcAddr = library.function("vkGetInstanceProcAddr", as: PFN_vkGetInstanceProcAddr.self) else {
      throw .loader("\(library.name) does not export vkGetInstanceProcAddr")
    }
    let global: PFN_vkCreateInstance = try resolve("vkCreateInstance") { getInstanceProcAddr(nil, $0) }
    let layers = Self.wantsValidation ? Self.availableValidationLayer(getInstanceProcAddr) : []
    validation = !layers.isEmpty
    var instance: VkInstance?
    let status = withCStrings(layers) { layerNames in
      "tessera".withCString { appName in
        var application = VkApplicationInfo()
        application.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO
        application.pApplicationName = appName
        application.apiVersion = (1 << 22) | (1 << 12)  // Vulkan 1.1
        return withUnsafePointer(to: &application) { applicationPointer in
          var create = VkInstanceCreateInfo()
          create.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO
          create.pApplicationInfo = applicationPointer
          create.enabledLayerCount = UInt32(layerNames.count)
          return layerNames.withUnsafeBufferPointer { names in
            create.ppEnabledLayerNames = names.baseAddress
            return global(&create, nil, &instance)
          }
        }
      }
    }
    try check(status, "vkCreateInstance")
    guard let instance else { throw .call("vkCreateInstance", code: -3) }
    handle = instance
    do {
      functions = try InstanceFunctions { getInstanceProcAddr(instance, $0) }
    } catch {
      let destroy: PFN_vkDestroyInstance? = try? resolve("vkDestroyInstance") { getInstanceProcAddr(instance, $0) }
      destroy?(instance, nil)
      throw error
    }
  }

  deinit { functions.destroyInstance(handle, nil) }

  static var wantsValidation: Bool { ProcessInfo.processInfo.environment["TESSERA_VULKAN_VALIDATION"] == "1" }

  private static func availableValidationLayer(_ getInstanceProcAddr: PFN_vkGetInstanceProcAddr) -> [String] {
    let name = "VK_LAYER_KHRONOS_validation"
    guard
      let enumerate: PFN_vkEnumerateInstanceLayerProperties = try? resolve(
        "vkEnumerateInstanceLayerProperties",
        {
          getInstanceProcAddr(nil, $0)
        })
    else { return [] }
    var count: UInt32 = 0
    guard enumerate(&count, nil) == VK_SUCCESS else { return [] }
    var layers = [VkLayerProperties](repeating: VkLayerProperties(), count: Int(count))
    guard enumerate(&count, &layers) == VK_SUCCESS else { return [] }
    return layers.contains { cString($0.layerName) == name } ? [name] : []
  }

  /// Every physical device.
  func physicalDevices() throws(VulkanError) -> [VkPhysicalDevice] {
    var count: UInt32 = 0
    try check(functions.enumeratePhysicalDevices(handle, &count, nil), "vkEnumeratePhysicalDevices")
    var handles = [VkPhysicalDevice?](repeating: nil, count: Int(count))
    if count > 0 {
      try check(functions.enumeratePhysicalDevices(handle, &count, &handles), "vkEnumeratePhysicalDevices")
    }
    return handles.prefix(Int(count)).compactMap { $0 }
  }

  /// The physical device's properties.
  func properties(_ device: VkPhysicalDevice) -> VkPhysicalDeviceProperties {
    var properties = VkPhysicalDeviceProperties()
    functions.getProperties(device, &properties)
    return properties
  }

  /// The subgroup size of `device` when its compute shaders have subgroup arithmetic
  /// (`VkPhysicalDeviceSubgroupProperties`: the compute stage supported, the arithmetic
  /// operations among its features), else `nil`.
  func computeSubgroupSize(_ device: VkPhysicalDevice) -> Int? {
    var subgroup = VkPhysicalDeviceSubgroupProperties()
    subgroup.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES
    withUnsafeMutablePointer(to: &subgroup) { pointer in
      var properties = VkPhysicalDeviceProperties2()
      properties.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2
      properties.pNext = UnsafeMutableRawPointer(pointer)
      functions.getProperties2(device, &properties)
    }
    let compute = subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT.rawValue != 0
    let arithmetic = subgroup.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT.rawValue != 0
    return compute && arithmetic && subgroup.subgroupSize > 0 ? Int(subgroup.subgroupSize) : nil
  }

  /// The index of a queue family with compute, or `nil`.
  func computeQueueFamily(_ device: VkPhysicalDevice) -> (index: UInt32, timestampBits: UInt32)? {
    var count: UInt32 = 0
    functions.getQueueFamilies(device, &count, nil)
    var families = [VkQueueFamilyProperties](repeating: VkQueueFamilyProperties(), count: Int(count))
    functions.getQueueFamilies(device, &count, &families)
    // Prefer a compute queue without graphics (a dedicated compute queue), else any with compute.
    let compute = VK_QUEUE_COMPUTE_BIT.rawValue, graphics = VK_QUEUE_GRAPHICS_BIT.rawValue
    let candidates = families.indices.filter { families[$0].queueFlags & compute != 0 }
    let index = candidates.first { families[$0].queueFlags & graphics == 0 } ?? candidates.first
    return index.map { (UInt32($0), families[$0].timestampValidBits) }
  }
}

/// A fixed-size C character array (such as `deviceName`) as a String.
func cString<T>(_ tuple: T) -> String {
  withUnsafeBytes(of: tuple) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
}

/// Calls `body` with C string pointers for `strings`, valid during the call.
func withCStrings<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
  let copies = strings.map { strdup($0) }
  defer { copies.forEach { free($0) } }
  return body(copies.map { $0.map { UnsafePointer($0) } })
}
