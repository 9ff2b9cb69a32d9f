import CVulkan

/// Every error of the Vulkan backend, each saying which call failed and what it means.
public enum VulkanError: Error, Hashable, Sendable, CustomStringConvertible {
  /// The loader could not be opened or lacks its entry point.
  case loader(String)
  /// A Vulkan call returned an error code.
  case call(String, code: Int32)
  /// The loader or driver does not provide a function Tessera needs.
  case missingEntryPoint(String)
  /// No memory type or queue family fits.
  case noSuitable(String)
  /// A kernel could not be translated to SPIR-V.
  case codegen(SPIRVCodegenError)
  /// Setting up the kernel named first (its shader module, layouts or pipeline) failed.
  indirect case kernel(String, VulkanError)

  /// What went wrong, with the failing call and the meaning of its VkResult.
  public var description: String {
    switch self {
    case .loader(let message): "Vulkan loader: \(message)"
    case .call(let name, let code): "\(name) failed: \(Self.meaning(code)) (VkResult \(code))"
    case .missingEntryPoint(let name): "the Vulkan driver does not provide \(name)"
    case .noSuitable(let what): "no suitable \(what)"
    case .codegen(let error): error.description
    case .kernel(let name, let error): "kernel \(name): \(error)"
    }
  }

  /// The specification's name and a short explanation of a VkResult.
  static func meaning(_ code: Int32) -> String {
    switch code {
    case 1: "VK_NOT_READY"
    case 2: "VK_TIMEOUT"
    case 5: "VK_INCOMPLETE"
    case -1: "VK_ERROR_OUT_OF_HOST_MEMORY (host allocation failed)"
    case -2: "VK_ERROR_OUT_OF_DEVICE_MEMORY (device allocation failed)"
    case -3: "VK_ERROR_INITIALIZATION_FAILED (driver initialisation failed)"
    case -4: "VK_ERROR_DEVICE_LOST (the device hung or was reset)"
    case -5: "VK_ERROR_MEMORY_MAP_FAILED"
    case -6: "VK_ERROR_LAYER_NOT_PRESENT"
    case -7: "VK_ERROR_EXTENSION_NOT_PRESENT"
    case -8: "VK_ERROR_FEATURE_NOT_PRESENT"
    case -9: "VK_ERROR_INCOMPATIBLE_DRIVER (no driver supports the requested Vulkan version)"
    case -10: "VK_ERROR_TOO_MANY_OBJECTS"
    case -11: "VK_ERROR_FORMAT_NOT_SUPPORTED"
    case -13: "VK_ERROR_UNKNOWN"
    case -1_000_012_000: "VK_ERROR_INVALID_SHADER_NV (the driver rejected the SPIR-V)"
    default: "VkResult \(code)"
    }
  }
}

/// Throws ``VulkanError/call(_:code:)`` naming `call` unless `result` is `VK_SUCCESS`.
func check(_ result: VkResult, _ call: String) throws(VulkanError) {
  guard result == VK_SUCCESS else { throw .call(call, code: result.rawValue) }
}
