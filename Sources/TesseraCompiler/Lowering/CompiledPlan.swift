import TesseraIR

/// One step of a plan: a fused group, its kernel (if it needs one) and its device.
public struct PlanStep: Hashable, Sendable {
  /// The fused nodes.
  public var group: FusedGroup
  /// The kernel launch; `nil` for aliases and constants.
  public var call: KernelCall?
  /// Where it runs.
  public var device: String
  /// Why it runs on the fallback device, if it does.
  public var fallbackReason: String?
  /// The kernel of an earlier step that also computes this step's group, where the two run as
  /// one launch (``LaunchMerging``; this step's ``call`` is then `nil`).
  public var launchedWith: String? = nil
}

/// Everything the compiler decided for one graph and target: the optimised graph, kernels in
/// order, devices, transfers and the memory plan. Backends execute it; `tessera compile
/// --emit plan` prints it.
public struct CompiledPlan: Hashable, Sendable {
  /// The graph after the passes, which the steps refer to.
  public var graph: Graph
  /// The target it was compiled for.
  public var target: TargetCapabilities
  /// Where unsupported kernels run.
  public var fallback: String
  /// Kernels in execution order.
  public var steps: [PlanStep]
  /// Why producers were not fused.
  public var refusals: [FusionRefusal]
  /// Copies between devices.
  public var transfers: [Transfer]
  /// Buffers and the arena.
  public var memory: MemoryPlan

  /// The kernels to run.
  public var kernels: [Kernel] { steps.compactMap { $0.call?.kernel } }

  /// A readable report of the plan.
  public var description: String {
    let graph = self.graph
    func name(_ value: ValueID) -> String { "%" + graph[value].name }
    var lines = [
      "plan for @\(graph.name) on \(target.name) (fallback \(fallback)): \(kernels.count) kernels for \(graph.nodes.count) ops"
    ]
    for step in steps {
      let ops = step.group.nodes.map { "\(graph.nodes[$0].kind) \(name(graph.nodes[$0].result))" }.joined(
        separator: ", ")
      guard let call = step.call else {
        let kind = step.launchedWith.map { "\(step.group.kind.rawValue) in \($0)" } ?? step.group.kind.rawValue
        lines.append("  -  \(kind) \(name(step.group.root)): \(ops)")
        continue
      }
      lines.append("  \(call.kernel.name) [\(step.group.kind.rawValue)] on \(step.device): \(ops)")
      let reads = call.reads.map(name).joined(separator: ", ")
      // A merged launch writes every group's root (``LaunchMerging``).
      let written = call.writes.count > 1 ? call.writes : [step.group.root]
      let writes = written.map { "\(name($0)) \(home($0))" }.joined(separator: ", ")
      lines.append("      reads \(reads.isEmpty ? "nothing" : reads); writes \(writes)")
      if let reason = step.fallbackReason { lines.append("      fallback: \(reason)") }
    }
    if !refusals.isEmpty {
      lines.append("not fused:")
      lines += refusals.map { "  \(name($0.value)): \($0.reason)" }
    }
    lines.append(transfers.isEmpty ? "transfers: none" : "transfers:")
    lines += transfers.map { "  \(name($0.value)) \($0.from) -> \($0.to): \(ByteCount($0.bytes))" }
    let saved = memory.naiveBytes == 0 ? 0 : 100 - memory.arenaBytes * 100 / memory.naiveBytes
    lines.append(
      "memory: arena peak \(ByteCount(memory.arenaBytes)) vs \(ByteCount(memory.naiveBytes)) without reuse (\(saved)% saved); "
        + "\(memory.inPlace.count) in place; weights \(ByteCount(memory.weightBytes))")
    return lines.joined(separator: "\n") + "\n"
  }

  private func home(_ value: ValueID) -> String {
    switch memory.homes[value] {
    case .arena(let offset)?:
      let note = memory.inPlace[value].map { " in place over %\(graph[$0].name)" } ?? ""
      return "(\(ByteCount(memory.bytes[value] ?? 0)) at arena+\(offset)\(note))"
    case .alias(let source)?: return "(alias of %\(graph[source].name))"
    default: return ""
    }
  }
}

/// `1.5 KiB`-style byte counts.
public struct ByteCount: CustomStringConvertible, Sendable {
  /// Bytes.
  public var bytes: Int
  /// Wraps a count.
  public init(_ bytes: Int) { self.bytes = bytes }
  /// The count with a binary unit.
  public var description: String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes), unit = 0
    while value >= 1024 && unit < units.count - 1 {
      value /= 1024
      unit += 1
    }
    if unit == 0 { return "\(bytes) B" }
    let rounded = (value * 10).rounded() / 10
    return "\(rounded) \(units[unit])"
  }
}
