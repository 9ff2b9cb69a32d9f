import TesseraCompiler
import TesseraRuntime

extension VulkanDevice {
  /// The `vulkan` target of `tessera compile`: every op, and each device kernel's SPIR-V as
  /// `--emit spirv` (binary `.spv` files) or `--emit spirv-asm` (its disassembly).
  public static let compileTarget = CompileTarget(
    capabilities: .gpu("vulkan"),
    emitters: [
      "spirv": { plan in try modules(plan).map { ("\($0.0).spv", $0.1.bytes) } },
      "spirv-asm": { plan in try modules(plan).map { ("\($0.0).spvasm", Array($0.1.assembly.utf8)) } },
    ], binaryArtifacts: ["spirv"])

  /// The SPIR-V module of every kernel the plan runs on the target, by kernel name.
  private static func modules(_ plan: CompiledPlan) throws -> [(String, SPIRVModule)] {
    try plan.steps.filter { $0.device == plan.target.name }.compactMap(\.call).map { call in
      (
        call.kernel.name,
        try SPIRVCodegen.generate(call.kernel, aliased: VulkanPlanBinding.aliasedBuffers(of: call, in: plan))
      )
    }
  }
}
