import TesseraCPU
import TesseraCompiler
import TesseraIR
import TesseraRuntime
import TesseraVulkan

/// The first usable Vulkan device (lavapipe on CI machines), compiled like the umbrella's
/// registry does it; tests for it are skipped with ``skipReason`` when there is none.
enum VulkanTestDevice {
  static let options = CompileOptions(
    passes: PassPipeline.standard(evaluator: ReferenceConstantEvaluator()), library: nil, fallback: "kir")

  /// The first usable device of a provider with these settings.
  static func first(excludedOps: Set<OpKind> = [], forceStaging: Bool = false, maxWorkgroupCount: Int? = nil)
    -> (any Device)?
  {
    VulkanProvider(
      options: options, host: InterpreterKernelRunner(), excludedOps: excludedOps, forceStaging: forceStaging,
      maxWorkgroupCount: maxWorkgroupCount
    ).discover().lazy.compactMap(\.device).first
  }

  static let device: (any Device)? = first()

  /// The same device with device-local buffers and staging copies, as on a discrete GPU.
  static let staged: (any Device)? = first(forceStaging: true)

  /// ``staged`` when `staged`, else ``device``.
  static func device(staged: Bool) -> any Device { (staged ? Self.staged : device)! }

  static let skipReason: String = {
    let reasons = VulkanProvider().discover().compactMap { entry -> String? in
      if case .unavailable(let reason) = entry.info.availability { return "\(entry.info.name): \(reason)" }
      return nil
    }
    return "no usable Vulkan device (" + (reasons.isEmpty ? "none listed" : reasons.joined(separator: "; ")) + ")"
  }()
}
