import Foundation
import TesseraCPU
import TesseraCompiler
import TesseraRuntime
import TesseraTestSupport
import Testing

@testable import TesseraOpenCL

/// The first usable OpenCL device, set up once for every test: standard passes, the KIR
/// interpreter as host runner, program binaries and PoCL's own cache in temporary folders.
enum OpenCLTestDevice {
  /// The device, or `nil` with ``reason`` when this machine has none.
  static let device: OpenCLDevice? = {
    setenv("POCL_CACHE_DIR", TestSupport.temporaryDirectory("pocl-cache"), 1)
    let options = CompileOptions(passes: PassPipeline.standard(evaluator: ReferenceConstantEvaluator()))
    let provider = OpenCLProvider(options: options, hostRunner: InterpreterKernelRunner())
    let device = provider.discover().lazy.compactMap { $0.device as? OpenCLDevice }.first
    return try? device?.configured(cacheDirectory: .some(TestSupport.temporaryDirectory("opencl-cache")))
  }()

  /// Why OpenCL tests are skipped.
  static let reason: Comment = {
    let entries = OpenCLProvider().discover()
    let reasons = entries.compactMap { entry -> String? in
      if case .unavailable(let reason) = entry.info.availability { return "\(entry.info.name): \(reason)" }
      return nil
    }
    return Comment(rawValue: "no usable OpenCL device (\(reasons.joined(separator: "; ")))")
  }()

  /// True when a device exists.
  static var available: Bool { device != nil }
}
