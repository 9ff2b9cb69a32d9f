import TesseraCompiler
import TesseraRuntime

/// The programs of a graph's kernels, by distinct unnamed kernel (``Kernel/unnamed``), so the
/// kernels of a model's repeated layers share one build. Each kernel body is cached on its own,
/// but the bodies that miss the cache are built together as one program: a driver such as PoCL
/// spends a fixed cost on every program it builds (docs/gpu-cold-start.md).
extension OpenCLDevice {
  /// The built kernel bodies for `kernels`, by unnamed kernel: found in the memory or disk cache,
  /// else built — all of a compile's missing bodies as one shared program, or each alone (on a
  /// few threads) when only one misses, when an injected `build` fault names one of them, or
  /// when the shared program fails to build (so that the error names its kernel). A progress
  /// line shows while the builds take noticeable time. `owner` names the kernels' graph in
  /// errors (`the program for @decode`).
  func programs(for kernels: [Kernel], owner: String?) throws(OpenCLError) -> [Kernel: OpenCLEntry] {
    var namesByUnnamed: [Kernel: [String]] = [:]
    var order: [Kernel] = []
    for kernel in kernels {
      let unnamed = kernel.unnamed
      if namesByUnnamed[unnamed] == nil { order.append(unnamed) }
      namesByUnnamed[unnamed, default: []].append(kernel.name)
    }
    let cache = programs, options = codegenOptions
    var entries: [Kernel: OpenCLEntry] = [:]
    var missing: [(kernel: Kernel, source: String, names: [String])] = []
    for kernel in order {
      let source = OpenCLCodegen.program([kernel], options: options), names = namesByUnnamed[kernel]!
      if let entry = cache.cached(source: source, kernels: names) {
        entries[kernel] = entry
      } else {
        missing.append((kernel, source, names))
      }
    }
    guard !missing.isEmpty else { return entries }
    let toBuild = missing
    let label = "building \(toBuild.count) kernel\(toBuild.count == 1 ? "" : "s") for \(info.name)"
    let built = try ProgressLine.during(label, total: toBuild.count) { progress throws(OpenCLError) in
      let faulted = toBuild.contains { cache.buildFaultHits($0.names) }
      if toBuild.count > 1, !faulted,
        let shared = try? buildShared(toBuild.map { ($0.kernel, $0.source) }, owner: owner)
      {
        progress.advance(by: toBuild.count)
        return shared
      }
      return try ParallelBuilds.map(count: toBuild.count) { index throws(OpenCLError) in
        defer { progress.advance() }
        let body = toBuild[index]
        return try cache.program(
          source: body.source, name: Self.programName(owner: owner, kernels: body.names), kernels: body.names)
      }
    }
    for (body, entry) in zip(toBuild, built) { entries[body.kernel] = entry }
    return entries
  }

  /// Builds `bodies` (unnamed kernels with their one-kernel programs) as one program, body `i`
  /// as the function `kernel_body_i`. Throws when any body fails to build: the caller then
  /// builds them alone.
  private func buildShared(_ bodies: [(kernel: Kernel, source: String)], owner: String?) throws(OpenCLError)
    -> [OpenCLEntry]
  {
    let renamed = bodies.enumerated().map { position, body in
      var kernel = body.kernel
      kernel.name = Kernel.unnamedName + "_\(position)"
      return kernel
    }
    let name = (owner.map { "\($0), " } ?? "") + "\(bodies.count) kernels built as one program"
    return try programs.buildShared(
      zip(bodies, renamed).map { ($0.source, OpenCLCodegen.identifier($1.name)) },
      source: OpenCLCodegen.program(renamed, options: codegenOptions), name: name)
  }

  /// The kernel object for `kernel` from ``programs(for:owner:)``'s result.
  func makeKernel(_ kernel: Kernel, in programs: [Kernel: OpenCLEntry]) throws(OpenCLError) -> OpenCLHandle {
    guard let entry = programs[kernel.unnamed] else {
      preconditionFailure("no program was built for kernel \(kernel.name)")
    }
    var status: Int32 = 0
    let raw = api.createKernel(entry.program.raw, entry.function, &status)
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
