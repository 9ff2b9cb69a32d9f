// The umbrella module: `import Tessera` gives the IR, the compiler, the runtime and every backend,
// and the standard device registry, which is assembled here because only here are all backends
// visible (TesseraRuntime knows none of them).
import Foundation
@_exported import TesseraCPU
@_exported import TesseraCompiler
@_exported import TesseraIR
@_exported import TesseraKernels
@_exported import TesseraLLM
@_exported import TesseraNPU
@_exported import TesseraONNX
@_exported import TesseraOpenCL
@_exported import TesseraRuntime
@_exported import TesseraVulkan

extension DeviceRegistry {
  /// Discovers every device of every backend Tessera ships, usable or not; the `cpu`, OpenCL
  /// and Vulkan devices inject `faults` (none by default; ``check(_:)`` says whether they fit).
  /// `environment` gives the `cpu` device its precision, deterministic mode and thread count,
  /// the thread count also to the host runner of the other devices' fallback steps.
  public static func standard(
    faults: FaultInjection = FaultInjection(), environment: [String: String] = ProcessInfo.processInfo.environment
  ) -> DeviceRegistry {
    let library = StandardKernelLibrary()
    let passes = PassPipeline.standard(evaluator: ReferenceConstantEvaluator())
    let options = CompileOptions(passes: passes, library: library)
    let host = CPUKernelRunner(pool: CPUThreadPool(threads: CPUThreadPool.defaultThreadCount(environment: environment)))
    return DeviceRegistry(providers: [
      ReferenceProvider(), KIRProvider(library: library),
      CPUProvider(library: library, faults: faults, environment: environment),
      OpenCLProvider(options: options, hostRunner: host, faults: faults),
      VulkanProvider(options: options, host: host, faults: faults),
      NPUProvider(options: CompileOptions(passes: passes, fallback: "cpu"), host: host),
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
