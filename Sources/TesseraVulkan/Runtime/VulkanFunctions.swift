import CVulkan

/// Resolves the entry point `name` through a `vk…ProcAddr` function, as type `T`.
func resolve<T>(_ name: String, _ lookup: (String) -> PFN_vkVoidFunction?) throws(VulkanError) -> T {
  guard let function = lookup(name) else { throw .missingEntryPoint(name) }
  return unsafeBitCast(function, to: T.self)
}

/// Instance-level entry points, resolved through `vkGetInstanceProcAddr`.
struct InstanceFunctions {
  let destroyInstance: PFN_vkDestroyInstance
  let enumeratePhysicalDevices: PFN_vkEnumeratePhysicalDevices
  let getProperties: PFN_vkGetPhysicalDeviceProperties
  let getProperties2: PFN_vkGetPhysicalDeviceProperties2
  let getMemoryProperties: PFN_vkGetPhysicalDeviceMemoryProperties
  let getQueueFamilies: PFN_vkGetPhysicalDeviceQueueFamilyProperties
  let getFeatures: PFN_vkGetPhysicalDeviceFeatures
  let createDevice: PFN_vkCreateDevice
  let getDeviceProcAddr: PFN_vkGetDeviceProcAddr

  init(_ lookup: (String) -> PFN_vkVoidFunction?) throws(VulkanError) {
    destroyInstance = try resolve("vkDestroyInstance", lookup)
    enumeratePhysicalDevices = try resolve("vkEnumeratePhysicalDevices", lookup)
    getProperties = try resolve("vkGetPhysicalDeviceProperties", lookup)
    getProperties2 = try resolve("vkGetPhysicalDeviceProperties2", lookup)
    getMemoryProperties = try resolve("vkGetPhysicalDeviceMemoryProperties", lookup)
    getQueueFamilies = try resolve("vkGetPhysicalDeviceQueueFamilyProperties", lookup)
    getFeatures = try resolve("vkGetPhysicalDeviceFeatures", lookup)
    createDevice = try resolve("vkCreateDevice", lookup)
    getDeviceProcAddr = try resolve("vkGetDeviceProcAddr", lookup)
  }
}

/// Device-level entry points, resolved through `vkGetDeviceProcAddr`.
struct DeviceFunctions {
  let destroyDevice: PFN_vkDestroyDevice
  let getQueue: PFN_vkGetDeviceQueue
  let createBuffer: PFN_vkCreateBuffer
  let destroyBuffer: PFN_vkDestroyBuffer
  let getBufferMemoryRequirements: PFN_vkGetBufferMemoryRequirements
  let allocateMemory: PFN_vkAllocateMemory
  let freeMemory: PFN_vkFreeMemory
  let bindBufferMemory: PFN_vkBindBufferMemory
  let mapMemory: PFN_vkMapMemory
  let createShaderModule: PFN_vkCreateShaderModule
  let destroyShaderModule: PFN_vkDestroyShaderModule
  let createDescriptorSetLayout: PFN_vkCreateDescriptorSetLayout
  let destroyDescriptorSetLayout: PFN_vkDestroyDescriptorSetLayout
  let createPipelineLayout: PFN_vkCreatePipelineLayout
  let destroyPipelineLayout: PFN_vkDestroyPipelineLayout
  let createComputePipelines: PFN_vkCreateComputePipelines
  let destroyPipeline: PFN_vkDestroyPipeline
  let createPipelineCache: PFN_vkCreatePipelineCache
  let destroyPipelineCache: PFN_vkDestroyPipelineCache
  let getPipelineCacheData: PFN_vkGetPipelineCacheData
  let createDescriptorPool: PFN_vkCreateDescriptorPool
  let destroyDescriptorPool: PFN_vkDestroyDescriptorPool
  let allocateDescriptorSets: PFN_vkAllocateDescriptorSets
  let updateDescriptorSets: PFN_vkUpdateDescriptorSets
  let createCommandPool: PFN_vkCreateCommandPool
  let destroyCommandPool: PFN_vkDestroyCommandPool
  let allocateCommandBuffers: PFN_vkAllocateCommandBuffers
  let freeCommandBuffers: PFN_vkFreeCommandBuffers
  let beginCommandBuffer: PFN_vkBeginCommandBuffer
  let endCommandBuffer: PFN_vkEndCommandBuffer
  let cmdBindPipeline: PFN_vkCmdBindPipeline
  let cmdBindDescriptorSets: PFN_vkCmdBindDescriptorSets
  let cmdPushConstants: PFN_vkCmdPushConstants
  let cmdDispatch: PFN_vkCmdDispatch
  let cmdCopyBuffer: PFN_vkCmdCopyBuffer
  let cmdPipelineBarrier: PFN_vkCmdPipelineBarrier
  let cmdWriteTimestamp: PFN_vkCmdWriteTimestamp
  let cmdResetQueryPool: PFN_vkCmdResetQueryPool
  let createQueryPool: PFN_vkCreateQueryPool
  let destroyQueryPool: PFN_vkDestroyQueryPool
  let getQueryPoolResults: PFN_vkGetQueryPoolResults
  let queueSubmit: PFN_vkQueueSubmit
  let createFence: PFN_vkCreateFence
  let destroyFence: PFN_vkDestroyFence
  let waitForFences: PFN_vkWaitForFences
  let resetFences: PFN_vkResetFences
  let deviceWaitIdle: PFN_vkDeviceWaitIdle

  init(_ lookup: (String) -> PFN_vkVoidFunction?) throws(VulkanError) {
    destroyDevice = try resolve("vkDestroyDevice", lookup)
    getQueue = try resolve("vkGetDeviceQueue", lookup)
    createBuffer = try resolve("vkCreateBuffer", lookup)
    destroyBuffer = try resolve("vkDestroyBuffer", lookup)
    getBufferMemoryRequirements = try resolve("vkGetBufferMemoryRequirements", lookup)
    allocateMemory = try resolve("vkAllocateMemory", lookup)
    freeMemory = try resolve("vkFreeMemory", lookup)
    bindBufferMemory = try resolve("vkBindBufferMemory", lookup)
    mapMemory = try resolve("vkMapMemory", lookup)
    createShaderModule = try resolve("vkCreateShaderModule", lookup)
    destroyShaderModule = try resolve("vkDestroyShaderModule", lookup)
    createDescriptorSetLayout = try resolve("vkCreateDescriptorSetLayout", lookup)
    destroyDescriptorSetLayout = try resolve("vkDestroyDescriptorSetLayout", lookup)
    createPipelineLayout = try resolve("vkCreatePipelineLayout", lookup)
    destroyPipelineLayout = try resolve("vkDestroyPipelineLayout", lookup)
    createComputePipelines = try resolve("vkCreateComputePipelines", lookup)
    destroyPipeline = try resolve("vkDestroyPipeline", lookup)
    createPipelineCache = try resolve("vkCreatePipelineCache", lookup)
    destroyPipelineCache = try resolve("vkDestroyPipelineCache", lookup)
    getPipelineCacheData = try resolve("vkGetPipelineCacheData", lookup)
    createDescriptorPool = try resolve("vkCreateDescriptorPool", lookup)
    destroyDescriptorPool = try resolve("vkDestroyDescriptorPool", lookup)
    allocateDescriptorSets = try resolve("vkAllocateDescriptorSets", lookup)
    updateDescriptorSets = try resolve("vkUpdateDescriptorSets", lookup)
    createCommandPool = try resolve("vkCreateCommandPool", lookup)
    destroyCommandPool = try resolve("vkDestroyCommandPool", lookup)
    allocateCommandBuffers = try resolve("vkAllocateCommandBuffers", lookup)
    freeCommandBuffers = try resolve("vkFreeCommandBuffers", lookup)
    beginCommandBuffer = try resolve("vkBeginCommandBuffer", lookup)
    endCommandBuffer = try resolve("vkEndCommandBuffer", lookup)
    cmdBindPipeline = try resolve("vkCmdBindPipeline", lookup)
    cmdBindDescriptorSets = try resolve("vkCmdBindDescriptorSets", lookup)
    cmdPushConstants = try resolve("vkCmdPushConstants", lookup)
    cmdDispatch = try resolve("vkCmdDispatch", lookup)
    cmdCopyBuffer = try resolve("vkCmdCopyBuffer", lookup)
    cmdPipelineBarrier = try resolve("vkCmdPipelineBarrier", lookup)
    cmdWriteTimestamp = try resolve("vkCmdWriteTimestamp", lookup)
    cmdResetQueryPool = try resolve("vkCmdResetQueryPool", lookup)
    createQueryPool = try resolve("vkCreateQueryPool", lookup)
    destroyQueryPool = try resolve("vkDestroyQueryPool", lookup)
    getQueryPoolResults = try resolve("vkGetQueryPoolResults", lookup)
    queueSubmit = try resolve("vkQueueSubmit", lookup)
    createFence = try resolve("vkCreateFence", lookup)
    destroyFence = try resolve("vkDestroyFence", lookup)
    waitForFences = try resolve("vkWaitForFences", lookup)
    resetFences = try resolve("vkResetFences", lookup)
    deviceWaitIdle = try resolve("vkDeviceWaitIdle", lookup)
  }
}
