/// Every error of the OpenCL backend; each case says which call, kernel or buffer failed and why.
public enum OpenCLError: Error, Hashable, Sendable, CustomStringConvertible {
  /// The ICD loader lacks an OpenCL 1.2 entry point.
  case missingEntryPoint(name: String)
  /// An OpenCL call returned an error status.
  case call(function: String, code: Int32)
  /// The driver rejected a program; `log` is its build log, `excerpt` the generated source
  /// lines around the first line the log names.
  case build(program: String, log: String, excerpt: String)
  /// A kernel could not be set up or launched; `buffer` names the argument involved, if any.
  case launch(kernel: String, buffer: String?, function: String, code: Int32)
  /// A buffer could not be created, written or read (out of memory, bad size…).
  case memory(buffer: String, bytes: Int, function: String, code: Int32)
  /// A kernel's workgroup is larger than the device allows.
  case workgroupTooLarge(kernel: String, size: Int, limit: Int)

  /// A message a person can act on.
  public var description: String {
    switch self {
    case .missingEntryPoint(let name):
      "the OpenCL loader has no \(name) (an OpenCL 1.2 loader is required)"
    case .call(let function, let code):
      "\(function) failed with \(CL.statusName(code)) (\(code))"
    case .build(let program, let log, let excerpt):
      "the OpenCL driver could not build \(program):\n\(log)\n-- generated source around the error --\n\(excerpt)"
    case .launch(let kernel, let buffer, let function, let code):
      "kernel \(kernel)\(buffer.map { ", buffer \($0)" } ?? ""): \(function) failed with \(CL.statusName(code)) (\(code))"
    case .memory(let buffer, let bytes, let function, let code):
      "buffer \(buffer) (\(bytes) bytes): \(function) failed with \(CL.statusName(code)) (\(code))"
    case .workgroupTooLarge(let kernel, let size, let limit):
      "kernel \(kernel) needs workgroups of \(size) work-items; the device allows \(limit)"
    }
  }
}
