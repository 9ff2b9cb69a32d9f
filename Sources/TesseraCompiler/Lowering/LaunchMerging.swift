import TesseraIR

/// Runs consecutive independent kernels of a plan as one launch (``KernelMerge``), on targets
/// where each launch costs more than the work of a small kernel
/// (``TargetCapabilities/mergesIndependentLaunches``): a decode step's q, k and v products (each
/// reading the normed activation) are one launch, and so are the queries' RoPE and the keys'
/// RoPE written into their cache. On PoCL a launch costs 2–2.5 µs between kernels, and the
/// driver's second thread joins a kernel late: SmolLM2's q, k and v took 24–31.5 µs a layer as
/// three kernels and 19–25 µs as one (pyopencl, Zen 5).
///
/// A kernel joins the run of kernels before it when the run's kernels merge with it, it runs on
/// the target, and no kernel of the run writes memory it reads or writes, nor reads memory it
/// writes (arena regions by their offsets, arguments and weights by value; steps without a
/// kernel between them do nothing at run time). Each kernel must also read a value some step
/// computes: a kernel of weights alone may be computed once and kept by a runner, which never
/// keeps a launch that writes more than its step's root. The first step of a run
/// takes the merged call; the others keep their groups and name it in ``PlanStep/launchedWith``.
enum LaunchMerging {
  /// `steps` with runs of independent kernels merged, each launch taking at most `maxBuffers`
  /// buffers.
  static func merged(_ steps: [PlanStep], memory: MemoryPlan, device: String, maxBuffers: Int) -> [PlanStep] {
    var steps = steps
    var run: [Int] = []
    func close() {
      defer { run = [] }
      guard run.count > 1 else { return }
      let calls = run.map { steps[$0].call! }
      let name = calls.map(\.kernel.name).joined(separator: "__")
      guard let kernel = KernelMerge.merged(calls.map(\.kernel), name: name) else { return }
      steps[run[0]].call = KernelCall(kernel: kernel, buffers: calls.flatMap(\.buffers), scalars: [:])
      for index in run.dropFirst() {
        steps[index].call = nil
        steps[index].launchedWith = name
      }
    }
    let computed = Set(steps.filter { $0.call != nil }.map { memory.storage(of: $0.group.root) })
    for index in steps.indices {
      guard let call = steps[index].call else { continue }
      let mergeable =
        steps[index].device == device && call.reads.contains { computed.contains(memory.storage(of: $0)) }
      guard mergeable else {
        close()
        continue
      }
      let joins =
        !run.isEmpty && KernelMerge.dimension(run.map { steps[$0].call!.kernel } + [call.kernel]) != nil
        && run.map { steps[$0].call!.kernel.buffers.count }.reduce(call.kernel.buffers.count, +) <= maxBuffers
        && run.allSatisfy { independent(steps[$0].call!, call, memory: memory) }
      if !joins { close() }
      run.append(index)
    }
    close()
    return steps
  }

  /// Whether neither call writes memory the other reads or writes.
  private static func independent(_ a: KernelCall, _ b: KernelCall, memory: MemoryPlan) -> Bool {
    let (aReads, aWrites) = (a.reads.map { region($0, memory) }, a.writes.map { region($0, memory) })
    let (bReads, bWrites) = (b.reads.map { region($0, memory) }, b.writes.map { region($0, memory) })
    return !aWrites.contains { written in (bReads + bWrites).contains { $0.overlaps(written) } }
      && !bWrites.contains { written in aReads.contains { $0.overlaps(written) } }
  }

  /// Where a value's bytes are: a range of the arena, or the whole buffer of an argument or weight.
  private enum Region {
    case arena(Range<Int>)
    case buffer(ValueID)

    func overlaps(_ other: Region) -> Bool {
      switch (self, other) {
      case (.arena(let a), .arena(let b)): a.overlaps(b)
      case (.buffer(let a), .buffer(let b)): a == b
      default: false
      }
    }
  }

  private static func region(_ value: ValueID, _ memory: MemoryPlan) -> Region {
    let storage = memory.storage(of: value)
    guard case .arena(let offset)? = memory.homes[storage] else { return .buffer(storage) }
    return .arena(offset..<offset + Swift.max(1, memory.bytes[storage] ?? 1))
  }
}
