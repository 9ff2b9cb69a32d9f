import CVulkan
import Foundation
import TesseraRuntime

/// The driver's pipeline cache, loaded from and saved to
/// `${TESSERA_CACHE:-~/.cache/tessera}/vulkan/<vendor>-<device>-<cache uuid>.bin`, so a second
/// process creates the same pipelines without recompiling their shaders.
///
/// Thread safety: `vkCreateComputePipelines` and `vkGetPipelineCacheData` may use a cache from
/// several threads (it is not created externally synchronised), so `@unchecked Sendable` holds.
final class VulkanPipelineCache: @unchecked Sendable {
  let cache: VulkanObject
  /// Where the cache is stored.
  let path: String

  init(_ context: VulkanContext) throws(VulkanError) {
    let root = CacheFolder.root
    let uuid = withUnsafeBytes(of: context.properties.pipelineCacheUUID) {
      $0.map { String(format: "%02x", $0) }.joined()
    }
    let properties = context.properties
    path =
      root + "/vulkan/\(String(properties.vendorID, radix: 16))-\(String(properties.deviceID, radix: 16))-\(uuid).bin"
    let initial = FileManager.default.contents(atPath: path).map { [UInt8]($0) } ?? []
    let functions = context.functions, device = context.device
    cache = try context.make(
      "vkCreatePipelineCache", destroy: { $0.functions.destroyPipelineCache($0.device, $1, nil) }
    ) {
      handle in
      initial.withUnsafeBytes { bytes in
        var info = VkPipelineCacheCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO
        info.initialDataSize = bytes.count
        info.pInitialData = bytes.baseAddress
        return functions.createPipelineCache(device, &info, nil, &handle)
      }
    }
  }

  /// Writes the cache's current contents to ``path`` (best effort: a read-only home only costs
  /// the next process its warm start).
  func save() {
    let context = cache.context
    var size = 0
    guard context.functions.getPipelineCacheData(context.device, cache.handle, &size, nil) == VK_SUCCESS, size > 0
    else { return }
    var data = [UInt8](repeating: 0, count: size)
    guard context.functions.getPipelineCacheData(context.device, cache.handle, &size, &data) == VK_SUCCESS else {
      return
    }
    let url = URL(fileURLWithPath: path)
    try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try? Data(data.prefix(size)).write(to: url, options: .atomic)
  }
}
