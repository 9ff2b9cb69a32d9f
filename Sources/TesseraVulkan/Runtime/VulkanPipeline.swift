import CVulkan
import TesseraCompiler

/// One kernel ready to dispatch: its SPIR-V module, descriptor-set layout (one storage buffer
/// per kernel buffer), pipeline layout (push constants for the scalars, and for a split launch
/// its first workgroup and counts) and compute pipeline.
final class VulkanPipeline: Sendable {
  let module: SPIRVModule
  let setLayout: VulkanObject
  let layout: VulkanObject
  let pipeline: VulkanObject
  let pushConstantBytes: Int
  /// Whether the module was generated with `splitLaunch` (``SPIRVCodegen``).
  let splitLaunch: Bool

  /// Creates every object for `kernel`. `injectFailure` (an injected `build` fault) has
  /// `vkCreateComputePipelines` fail with `VK_ERROR_INVALID_SHADER_NV` without calling the driver,
  /// after the shader module and layouts were created.
  init(
    _ kernel: Kernel, module: SPIRVModule, splitLaunch: Bool, context: VulkanContext, cache: VulkanPipelineCache,
    injectFailure: Bool = false
  ) throws(VulkanError) {
    self.module = module
    self.splitLaunch = splitLaunch
    pushConstantBytes = (kernel.scalars.count + (splitLaunch ? SPIRVCodegen.splitLaunchWords : 0)) * 4
    guard pushConstantBytes <= Int(context.properties.limits.maxPushConstantsSize) else {
      throw .noSuitable(
        "push-constant space for \(kernel.name): \(pushConstantBytes) bytes, the device allows "
          + "\(context.properties.limits.maxPushConstantsSize)")
    }
    let functions = context.functions, device = context.device
    let words = module.words
    let shader = try context.make(
      "vkCreateShaderModule", destroy: { $0.functions.destroyShaderModule($0.device, $1, nil) }
    ) { handle in
      words.withUnsafeBufferPointer { code in
        var info = VkShaderModuleCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO
        info.codeSize = code.count * 4
        info.pCode = code.baseAddress
        return functions.createShaderModule(device, &info, nil, &handle)
      }
    }
    let bindings = kernel.buffers.indices.map { index in
      var binding = VkDescriptorSetLayoutBinding()
      binding.binding = UInt32(index)
      binding.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
      binding.descriptorCount = 1
      binding.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT.rawValue
      return binding
    }
    setLayout = try context.make(
      "vkCreateDescriptorSetLayout", destroy: { $0.functions.destroyDescriptorSetLayout($0.device, $1, nil) }
    ) { handle in
      bindings.withUnsafeBufferPointer { pointer in
        var info = VkDescriptorSetLayoutCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO
        info.bindingCount = UInt32(pointer.count)
        info.pBindings = pointer.baseAddress
        return functions.createDescriptorSetLayout(device, &info, nil, &handle)
      }
    }
    let pushBytes = UInt32(pushConstantBytes)
    var setLayoutHandle: VkDescriptorSetLayout? = setLayout.handle
    layout = try context.make(
      "vkCreatePipelineLayout", destroy: { $0.functions.destroyPipelineLayout($0.device, $1, nil) }
    ) { handle in
      var range = VkPushConstantRange(stageFlags: VK_SHADER_STAGE_COMPUTE_BIT.rawValue, offset: 0, size: pushBytes)
      var info = VkPipelineLayoutCreateInfo()
      info.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO
      info.setLayoutCount = 1
      return withUnsafePointer(to: &setLayoutHandle) { setLayouts in
        withUnsafePointer(to: &range) { ranges in
          info.pSetLayouts = setLayouts
          info.pushConstantRangeCount = pushBytes > 0 ? 1 : 0
          info.pPushConstantRanges = pushBytes > 0 ? ranges : nil
          return functions.createPipelineLayout(device, &info, nil, &handle)
        }
      }
    }
    let layoutHandle = layout.handle
    pipeline = try context.make(
      "vkCreateComputePipelines", destroy: { $0.functions.destroyPipeline($0.device, $1, nil) }
    ) {
      handle in
      guard !injectFailure else { return VK_ERROR_INVALID_SHADER_NV }
      return "main".withCString { entry in
        var info = VkComputePipelineCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO
        info.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO
        info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT
        info.stage.module = shader.handle
        info.stage.pName = entry
        info.layout = layoutHandle
        return functions.createComputePipelines(device, cache.cache.handle, 1, &info, nil, &handle)
      }
    }
  }
}
