/// Several independent kernels as one launch: their workgroups side by side along one dimension,
/// each workgroup running the body of the kernel it belongs to.
///
/// The kernels must share their workgroup size, take no scalars, and launch a constant number of
/// workgroups, more than one along at most one dimension (the same for all). The merged kernel
/// takes every kernel's buffers and shared arrays in turn; its workgroup `g` along that dimension
/// runs kernel `i`'s body where `g` falls in kernel `i`'s range, with kernel `i`'s group and global
/// ids along it counted from the range's start and its group count its own. Every workgroup of a
/// kernel takes the same branch, so barriers stay uniform. Whether the kernels may run at once
/// (none reads what another writes) is the caller's question (``LaunchMerging``).
public enum KernelMerge {
  /// The dimension along which `kernels` merge, or `nil` where they cannot (see ``KernelMerge``).
  public static func dimension(_ kernels: [Kernel]) -> Int? {
    guard let first = kernels.first, kernels.allSatisfy({ $0.workgroupSize == first.workgroupSize }),
      kernels.allSatisfy({ $0.scalars.isEmpty && $0.globalSize.allSatisfy(\.isConstant) })
    else { return nil }
    let spread = Set(
      kernels.flatMap { kernel in kernel.groupCounts([:]).enumerated().filter { $0.element > 1 }.map(\.offset) })
    guard spread.count <= 1 else { return nil }
    return spread.first ?? 0
  }

  /// `kernels` as one kernel named `name`, or `nil` where they cannot merge.
  public static func merged(_ kernels: [Kernel], name: String) -> Kernel? {
    guard kernels.count > 1, let dimension = dimension(kernels) else { return nil }
    let workgroup = kernels[0].workgroupSize
    var merged = Kernel(
      name: name, comment: kernels.map { "\($0.name): \($0.comment)" }.joined(separator: "; "), buffers: [],
      scalars: [], shared: [], workgroupSize: workgroup, globalSize: [], valueTypes: [], variableTypes: [], body: [])
    var bodies: [[KInstruction]] = []
    var firstGroup = 0
    var starts: [Int] = []
    for (index, kernel) in kernels.enumerated() {
      let groups = kernel.groupCounts([:])[dimension]
      var remap = Remap(
        values: merged.valueTypes.count, variables: merged.variableTypes.count, buffers: merged.buffers.count,
        shared: merged.shared.count, dimension: dimension, firstGroup: firstGroup, groups: groups,
        workgroup: workgroup[dimension])
      merged.valueTypes += kernel.valueTypes
      merged.variableTypes += kernel.variableTypes
      merged.buffers += kernel.buffers.map {
        KBuffer(name: "m\(index)_\($0.name)", dtype: $0.dtype, access: $0.access, interleave: $0.interleave)
      }
      merged.shared += kernel.shared.map {
        KSharedArray(name: "m\(index)_\($0.name)", dtype: $0.dtype, count: $0.count)
      }
      bodies.append(remap.body(kernel.body, types: &merged.valueTypes))
      starts.append(firstGroup)
      firstGroup += groups
    }
    merged.globalSize = workgroup.indices.map {
      .constant($0 == dimension ? firstGroup * workgroup[$0] : workgroup[$0])
    }
    // group = group_id; if group < start₁ { body₀ } else { if group < start₂ { body₁ } else { … } }
    func value(_ type: KType) -> KValue {
      merged.valueTypes.append(type)
      return KValue(merged.valueTypes.count - 1)
    }
    let group = value(.i32)
    var chain = bodies.last!
    for index in stride(from: kernels.count - 2, through: 0, by: -1) {
      let (end, inside) = (value(.i32), value(.bool))
      chain = [
        .constant(end, Double(starts[index + 1])), .compare(inside, .lt, group, end),
        .conditional(inside, then: bodies[index], otherwise: chain),
      ]
    }
    merged.body = [.builtin(group, .groupID, dimension: dimension)] + chain
    return merged
  }

  /// Renumbers one kernel's body into the merged kernel's numbering, and counts its group and
  /// global ids along the merge dimension from its first workgroup there.
  private struct Remap {
    let values: Int, variables: Int, buffers: Int, shared: Int
    let dimension: Int, firstGroup: Int, groups: Int, workgroup: Int

    func body(_ instructions: [KInstruction], types: inout [KType]) -> [KInstruction] {
      instructions.flatMap { instruction(_: $0, types: &types) }
    }

    private func v(_ value: KValue) -> KValue { KValue(value.id + values) }

    private func instruction(_ instruction: KInstruction, types: inout [KType]) -> [KInstruction] {
      switch instruction {
      case .builtin(let r, let builtin, let d) where d == dimension && builtin != .localID:
        if builtin == .groupCount { return [.constant(v(r), Double(groups))] }
        // The id as the merged kernel numbers it, less this kernel's first one.
        let offset = builtin == .groupID ? firstGroup : firstGroup * workgroup
        types += [.i32, .i32]
        let (raw, start) = (KValue(types.count - 2), KValue(types.count - 1))
        return [
          .builtin(raw, builtin, dimension: d), .constant(start, Double(offset)), .binary(v(r), .sub, raw, start),
        ]
      case .builtin(let r, let builtin, let d): return [.builtin(v(r), builtin, dimension: d)]
      case .constant(let r, let c): return [.constant(v(r), c)]
      case .scalarArgument(let r, let name): return [.scalarArgument(v(r), name)]
      case .unary(let r, let op, let a): return [.unary(v(r), op, v(a))]
      case .binary(let r, let op, let a, let b): return [.binary(v(r), op, v(a), v(b))]
      case .mulAdd(let r, let a, let b, let c): return [.mulAdd(v(r), v(a), v(b), v(c))]
      case .compare(let r, let kind, let a, let b): return [.compare(v(r), kind, v(a), v(b))]
      case .select(let r, let c, let a, let b): return [.select(v(r), v(c), v(a), v(b))]
      case .cast(let r, let a): return [.cast(v(r), v(a))]
      case .splat(let r, let a): return [.splat(v(r), v(a))]
      case .extract(let r, let a, let lane): return [.extract(v(r), v(a), lane: lane)]
      case .reduceLanes(let r, let op, let a): return [.reduceLanes(v(r), op, v(a))]
      case .load(let r, let buffer, let index): return [.load(v(r), buffer: buffer + buffers, index: v(index))]
      case .loadDequantized(let r, let buffer, let index):
        return [.loadDequantized(v(r), buffer: buffer + buffers, index: v(index))]
      case .store(let buffer, let index, let value):
        return [.store(buffer: buffer + buffers, index: v(index), value: v(value))]
      case .loadShared(let r, let array, let index): return [.loadShared(v(r), array: array + shared, index: v(index))]
      case .storeShared(let array, let index, let value):
        return [.storeShared(array: array + shared, index: v(index), value: v(value))]
      case .declare(let variable, let initial):
        return [.declare(KVariable(variable.id + variables), initial: v(initial))]
      case .read(let r, let variable): return [.read(v(r), KVariable(variable.id + variables))]
      case .write(let variable, let value): return [.write(KVariable(variable.id + variables), v(value))]
      case .loop(let index, let start, let end, let step, let loopBody):
        return [.loop(index: v(index), start: v(start), end: v(end), step: step, body: body(loopBody, types: &types))]
      case .conditional(let condition, let then, let otherwise):
        return [
          .conditional(v(condition), then: body(then, types: &types), otherwise: body(otherwise, types: &types))
        ]
      case .barrier: return [.barrier]
      case .subgroupAdd(let r, let a): return [.subgroupAdd(v(r), v(a))]
      }
    }
  }
}

extension KSize {
  /// Whether the size is a compile-time count (no scalar parameter in it).
  var isConstant: Bool {
    switch self {
    case .constant: true
    case .scalar: false
    case .product(let a, let b): a.isConstant && b.isConstant
    case .ceilDiv(let a, _): a.isConstant
    }
  }
}
