import TesseraIR

/// Where one materialised value lives.
public enum BufferHome: Hashable, Sendable {
  /// A function argument, supplied by the caller.
  case input
  /// A constant, stored read-only with the weights (may be memory-mapped).
  case weights
  /// A region of the device's arena.
  case arena(offset: Int)
  /// The same bytes as another value (a reshape).
  case alias(of: ValueID)
}

/// The memory plan: where every materialised value lives, and the arena's size.
public struct MemoryPlan: Hashable, Sendable {
  /// Home of every value a kernel reads or writes.
  public var homes: [ValueID: BufferHome]
  /// Bytes of each value.
  public var bytes: [ValueID: Int]
  /// Arena bytes needed (the peak of simultaneously live intermediates).
  public var arenaBytes: Int
  /// What the arena would need with one buffer per value (no reuse).
  public var naiveBytes: Int
  /// Values computed in place over an operand's buffer: result -> operand.
  public var inPlace: [ValueID: ValueID]
  /// Bytes of constants.
  public var weightBytes: Int

  /// The value whose storage `value` uses (itself unless it is an alias).
  public func storage(of value: ValueID) -> ValueID {
    if case .alias(let source)? = homes[value] { return storage(of: source) }
    return value
  }
}

/// Liveness analysis, buffer reuse, in-place updates and arena offsets.
///
/// Each kernel is a step; a value is live from the step that writes it to the last step that
/// reads it (results live to the end). Buffers are placed largest first at the lowest offset
/// that overlaps no buffer live at the same time, aligned to 256 bytes. An elementwise kernel
/// whose operand dies there, has the output's shape and dtype, and is read only at the output's
/// own coordinates writes its result over that operand.
public enum MemoryPlanner {
  /// Byte alignment of arena offsets.
  public static let alignment = 256

  /// Plans `steps` (groups in execution order; each reads `reads[i]` and writes its root).
  /// Roots in `elsewhere` get no home: their runner keeps them in memory of their own (results
  /// computed once, see `PlanRunner`), and no other value is computed over them.
  public static func plan(
    _ graph: Graph, groups: [FusedGroup], reads: [[ValueID]], elsewhere: Set<ValueID> = []
  ) -> MemoryPlan {
    var homes: [ValueID: BufferHome] = [:]
    var bytes: [ValueID: Int] = [:]
    var weightBytes = 0
    for argument in graph.arguments {
      homes[argument] = .input
      bytes[argument] = graph.type(of: argument).storageBytes ?? 0
    }
    for group in groups where group.kind == .constant {
      homes[group.root] = .weights
      bytes[group.root] = graph.type(of: group.root).storageBytes ?? 0
      weightBytes += bytes[group.root]!
    }
    var firstWrite: [ValueID: Int] = [:], lastRead: [ValueID: Int] = [:]
    var inPlace: [ValueID: ValueID] = [:]
    let finalStep = groups.count
    for (step, group) in groups.enumerated() where group.kind != .constant {
      bytes[group.root] = graph.type(of: group.root).storageBytes ?? 0
      if group.kind == .alias {
        homes[group.root] = .alias(of: graph.nodes[group.nodes[0]].operands[0])
        continue
      }
      if let base = inPlaceUpdateBase(group, graph) {
        // The update writes the argument's own bytes: the result is that buffer, not the arena.
        homes[group.root] = .alias(of: base)
      } else if !elsewhere.contains(group.root) {
        firstWrite[group.root] = step
      }
      for value in reads[step] {
        lastRead[root(value, homes), default: step] = Swift.max(lastRead[root(value, homes)] ?? step, step)
      }
    }
    for result in graph.results { lastRead[root(result, homes)] = finalStep }
    // In place: the operand's last read is this step, and it is an arena value.
    // A value computed in place shares the buffer of the value it overwrites (chains follow).
    func owner(_ value: ValueID) -> ValueID { inPlace[value].map(owner) ?? value }
    for (step, group) in groups.enumerated() where group.kind == .elementwise {
      guard let candidate = inPlaceCandidate(group, graph, reads[step]) else { continue }
      let storage = root(candidate, homes)
      guard firstWrite[storage] != nil, lastRead[storage] == step, !inPlace.values.contains(storage) else { continue }
      inPlace[group.root] = storage
      let buffer = owner(storage)
      lastRead[buffer] = Swift.max(lastRead[buffer] ?? step, lastRead[group.root] ?? step)
    }
    var offsets: [ValueID: Int] = [:]
    var placed: [(value: ValueID, offset: Int, size: Int, from: Int, to: Int)] = []
    let arenaValues = firstWrite.keys.filter { inPlace[$0] == nil }.sorted {
      (bytes[$0]!, -$0.index) > (bytes[$1]!, -$1.index)
    }
    for value in arenaValues {
      let size = aligned(bytes[value]!)
      let from = firstWrite[value]!, to = lastRead[value] ?? from
      let overlapping = placed.filter { $0.from <= to && from <= $0.to }.sorted { $0.offset < $1.offset }
      var offset = 0
      for other in overlapping where offset + size > other.offset && offset < other.offset + other.size {
        offset = other.offset + other.size
      }
      offsets[value] = offset
      placed.append((value, offset, size, from, to))
    }
    for result in inPlace.keys { offsets[result] = offsets[owner(result)] }
    for (value, offset) in offsets { homes[value] = .arena(offset: offset) }
    return MemoryPlan(
      homes: homes, bytes: bytes, arenaBytes: placed.map { $0.offset + $0.size }.max() ?? 0,
      naiveBytes: firstWrite.keys.map { aligned(bytes[$0]!) }.reduce(0, +), inPlace: inPlace, weightBytes: weightBytes)
  }

  /// The argument an `update_slice` group overwrites in place (see ``UpdateSlice``), whether
  /// alone or computing its update (``Fusion``), even with a product.
  private static func inPlaceUpdateBase(_ group: FusedGroup, _ graph: Graph) -> ValueID? {
    guard group.kind == .library || group.kind == .matmul else { return nil }
    return UpdateSlice.inPlaceBase(of: graph.nodes[group.nodes.last!], in: graph)
  }

  private static func aligned(_ size: Int) -> Int { (Swift.max(size, 1) + alignment - 1) / alignment * alignment }

  private static func root(_ value: ValueID, _ homes: [ValueID: BufferHome]) -> ValueID {
    if case .alias(let source)? = homes[value] { return root(source, homes) }
    return value
  }

  /// An operand the group may overwrite: every node of the group has the output's shape, the
  /// operand has the output's type and is read only directly by the group's elementwise nodes.
  private static func inPlaceCandidate(_ group: FusedGroup, _ graph: Graph, _ reads: [ValueID]) -> ValueID? {
    let type = graph.type(of: group.root)
    let nodes = group.nodes.map { graph.nodes[$0] }
    guard nodes.allSatisfy({ $0.kind.isElementwise && graph.type(of: $0.result).shape == type.shape }) else {
      return nil
    }
    return reads.first { graph.type(of: $0) == type && !graph.arguments.contains($0) }
  }
}

extension CompiledPlan {
  /// The memory plan of these steps when the runner keeps the results of `elsewhere` (step
  /// roots) outside the arena: the arena holds only the other values, so it shrinks by what
  /// those roots would have occupied.
  public func memory(keepingElsewhere elsewhere: Set<ValueID>) -> MemoryPlan {
    MemoryPlanner.plan(
      graph, groups: steps.map(\.group),
      reads: steps.map { GraphCompiler.reads(of: $0.call, group: $0.group, in: graph) }, elsewhere: elsewhere)
  }
}
