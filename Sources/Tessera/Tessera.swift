// The umbrella module: `import Tessera` gives the IR, the compiler, the runtime and every backend,
// and the standard device registry, which is assembled here because only here are all backends
// visible (TesseraRuntime knows none of them).
@_exported import TesseraCPU
@_exported import TesseraCompiler
@_exported import TesseraIR
@_exported import TesseraKernels
@_exported import TesseraLLM
@_exported import TesseraNPU
@_exported import TesseraOpenCL
@_exported import TesseraRuntime
@_exported import TesseraVulkan

extension DeviceRegistry {
  /// Discovers every device of every backend Tessera ships, usable or not; the `cpu`, OpenCL
  /// and Vulkan devices inject `faults` (none by default; ``check(_:)`` says whether they fit).
  public static func standard(faults: FaultInjection = FaultInjection()) -> DeviceRegistry {
    let library = StandardKernelLibrary()
    let passes = PassPipeline.standard(evaluator: ReferenceConstantEvaluator())
    let options = CompileOptions(passes: passes, library: library)
    return DeviceRegistry(providers: [
      ReferenceProvider(), KIRProvider(library: library), CPUProvider(library: library, faults: faults),
      OpenCLProvider(options: options, hostRunner: CPUKernelRunner(), faults: faults),
      VulkanProvider(options: options, host: CPUKernelRunner(), faults: faults),
      NPUProvider(options: CompileOptions(passes: passes, fallback: "cpu"), host: CPUKernelRunner()),
    ])
  }
}

extension CompileTarget {
  /// Every target `tessera compile` knows, as each backend declares it (assembled here, where
  /// every backend is visible; the compiler and the CLI name none).
  public static let standard: [CompileTarget] = [
    KIRDevice.compileTarget, CPUDevice.compileTarget, OpenCLDevice.compileTarget, VulkanDevice.compileTarget,
    NPUDevice.compileTarget,
  ]
}
