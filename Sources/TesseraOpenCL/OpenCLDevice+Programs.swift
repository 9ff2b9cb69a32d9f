import TesseraCompiler
import TesseraRuntime

/// The programs of a graph's kernels: one program per distinct unnamed kernel
/// (``Kernel/unnamed``), so the kernels of a model's repeated layers share one build, and a small
/// program per kernel body instead of one module of hundreds that the driver compiles slowly.
extension OpenCLDevice {
  /// The programs for `kernels`, by unnamed kernel: each distinct one built from its own source
  /// (or found in the memory or disk cache under that source), the builds spread over a few
  /// threads, with a progress line while they take noticeable time. `owner` names the kernels'
  /// graph in errors (`the program for @decode`).
  func programs(for kernels: [Kernel], owner: String?) throws(OpenCLError) -> [Kernel: OpenCLHandle] {
    var namesByUnnamed: [Kernel: [String]] = [:]
    var order: [Kernel] = []
    for kernel in kernels {
      let unnamed = kernel.unnamed
      if namesByUnnamed[unnamed] == nil { order.append(unnamed) }
      namesByUnnamed[unnamed, default: []].append(kernel.name)
    }
    let distinct = order, names = namesByUnnamed, cache = programs, options = codegenOptions
    let label = "building \(distinct.count) kernel\(distinct.count == 1 ? "" : "s") for \(info.name)"
    let built = try ProgressLine.during(label, total: distinct.count) { progress throws(OpenCLError) in
      try ParallelBuilds.map(count: distinct.count) { index throws(OpenCLError) in
        defer { progress.advance() }
        let kernelNames = names[distinct[index]]!
        return try cache.program(
          source: OpenCLCodegen.program([distinct[index]], options: options),
          name: Self.programName(owner: owner, kernels: kernelNames), kernels: kernelNames)
      }
    }
    return Dictionary(uniqueKeysWithValues: zip(distinct, built))
  }

  /// The kernel object for `kernel` from ``programs(for:owner:)``'s result.
  func makeKernel(_ kernel: Kernel, in programs: [Kernel: OpenCLHandle]) throws(OpenCLError) -> OpenCLHandle {
    guard let program = programs[kernel.unnamed] else {
      preconditionFailure("no program was built for kernel \(kernel.name)")
    }
    var status: Int32 = 0
    let raw = api.createKernel(program.raw, OpenCLCodegen.identifier(Kernel.unnamedName), &status)
    guard let raw, status == 0 else {
      throw .launch(kernel: kernel.name, buffer: nil, function: "clCreateKernel", code: status)
    }
    return OpenCLHandle(raw, api: api, release: \.releaseKernel)
  }

  /// `the program for @decode, kernel k3_matmul (and 29 alike)`.
  static func programName(owner: String?, kernels: [String]) -> String {
    let alike = kernels.count > 1 ? " (and \(kernels.count - 1) alike)" : ""
    return (owner.map { "\($0), " } ?? "") + "kernel \(kernels[0])" + alike
  }
}
