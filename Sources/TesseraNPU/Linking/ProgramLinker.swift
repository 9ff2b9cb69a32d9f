/// Links the programs of consecutive plan steps into one whole-graph program, the way an
/// accelerator toolchain joins kernels into one instruction stream: each step's `barrier; halt`
/// is dropped, so every unit's queue runs on into the next step (the DMA engine loads the next
/// step's weights while the cube and vector units finish the current one), and the only
/// synchronisation between steps is what their memory accesses need:
///
/// - For every unit instruction of a step and every other unit, the latest access of an earlier
///   step by that unit that conflicts with it (same memory, overlapping bytes, one of the two a
///   write: RAW, WAR and WAW, global memory and the on-chip buffers alike) is found; unless the
///   instruction's unit already waited for that point, `set_flag OTHER, UNIT, 15` is inserted
///   right after the conflicting access and `wait_flag OTHER, UNIT, 15` right before the
///   instruction. Flags count and pair in order, so each wait meets its own set.
/// - A scalar `ldg` that reads bytes an unfinished earlier store may write gets a `barrier`
///   before it (the scalar unit has no flags).
/// - A step's own flags that it raises and never waits for would release the next step's waits
///   too early; the linker waits them off right before the next wait on the same flag.
///
/// Addresses are found by evaluating the scalar code as the scalar unit would (a value read
/// with `ldg` is unknown: the access then covers its whole memory), and a strided access covers
/// its bounding range, so every guess errs towards one more wait. Flag id 15 is the linker's.
public enum ProgramLinker {
  /// The flag id of the waits the linker inserts; step programs must not use it.
  public static let flagID: UInt8 = 15

  /// A linked program and where each step's code begins in it.
  public struct Linked: Sendable {
    /// The whole-graph program, ending with `barrier; halt`.
    public var program: [Instruction]
    /// The index of each step's first instruction in ``program``.
    public var stepStarts: [Int]

    /// The index of the step whose code holds instruction `pc`.
    public func step(containing pc: Int) -> Int {
      (stepStarts.lastIndex { $0 <= pc }) ?? 0
    }
  }

  /// Links `steps` (each a program ending in `halt`, as ``NPULowering`` makes them) for a core
  /// with `config`'s buffer sizes; `unsupported` naming the step when one cannot be linked.
  public static func link(_ steps: [[Instruction]], config: NPUConfig = NPUConfig()) throws(NPUError) -> Linked {
    var bodies: [[Instruction]] = []
    for (index, program) in steps.enumerated() { bodies.append(try body(of: program, step: index)) }
    var plan = Insertions(count: bodies.reduce(0) { $0 + $1.count })
    var hazards = HazardTracker()
    var raises = FlagRaises()
    var leftover: [Int: Int] = [:]
    var registers = [Int64?](repeating: 0, count: 32)
    let sizes = { (memory: NPUMemory) in memory == .gm ? config.globalMemoryBytes : config.bytes(of: memory) }
    var base = 0
    for (index, body) in bodies.enumerated() {
      let conditional = conditionalIndices(body)
      var raised: [Int: Int] = [:]
      var written = [LatestAccessMap](repeating: LatestAccessMap(), count: NPUMemory.allCases.count)
      var accesses: [(unit: NPUUnit, access: MemoryAccess, position: Int)] = []
      for (local, instruction) in body.enumerated() {
        let position = base + local
        switch instruction {
        case .setFlag(let from, let to, let id), .waitFlag(let from, let to, let id):
          let key = Int(from.rawValue) << 8 | Int(to.rawValue) << 4 | Int(id)
          guard id != flagID, !conditional.contains(local) else {
            throw .unsupported(
              step: "step \(index)",
              reason: "pc \(local) (\(Disassembler.text(instruction))) uses flag \(flagID) or is skipped by a branch")
          }
          if case .setFlag = instruction {
            raised[key, default: 0] += 1
            raises.add(from, at: position)
          } else if let count = leftover.removeValue(forKey: key) {
            plan.before[position, default: []] += Array(repeating: instruction, count: count)
          }
          if case .waitFlag = instruction { raised[key, default: 0] -= 1 }
        case .loadGlobal(let rd, let rs, let imm):
          let address = registers[Int(rs)].map { Int($0) + Int(imm) }
          let bytes = address.map { $0..<$0 + 4 } ?? 0..<config.globalMemoryBytes
          if hazards.storePending(to: bytes) {
            plan.before[position, default: []].append(.barrier)
            hazards.barrier(before: position)
          }
          if rd != 0 { registers[Int(rd)] = nil }
        case .li, .addi, .alu, .branch, .jump, .trap, .halt, .barrier:
          evaluate(instruction, &registers, conditional: conditional.contains(local))
        default:
          let values = instruction.operandRegisters.map { $0 < 32 ? registers[Int($0)] : nil }
          for access in MemoryAccess.of(instruction, values: values, sizes: sizes) {
            // Bytes this step wrote before it reads them depend on earlier steps only through
            // that write, which waited for them.
            let rewritten = !access.writes && written[Int(access.memory.rawValue)].covers(access.bytes)
            for (from, needed) in rewritten ? [] : hazards.waits(for: instruction.unit, access) {
              let anchor = raises.anchor(for: from, atOrAfter: needed, before: position)
              plan.after[anchor, default: []].append(.setFlag(from: from, to: instruction.unit, id: flagID))
              plan.before[position, default: []].append(.waitFlag(from: from, to: instruction.unit, id: flagID))
            }
            accesses.append((instruction.unit, access, position))
          }
          for access in MemoryAccess.of(instruction, values: values, sizes: sizes) where access.writes {
            written[Int(access.memory.rawValue)].record(access.bytes, at: position)
          }
        }
      }
      for (key, count) in raised where count != 0 {
        guard count > 0 else {
          throw .unsupported(step: "step \(index)", reason: "it waits for flag \(key) more often than it raises it")
        }
        leftover[key, default: 0] += count
      }
      for entry in accesses { hazards.record(entry.unit, entry.access, at: entry.position) }
      base += body.count
    }
    return plan.emit(bodies)
  }

  /// `program` without its closing `barrier; halt`; `unsupported` when it has no closing
  /// `halt`, halts elsewhere or branches outside itself.
  private static func body(of program: [Instruction], step: Int) throws(NPUError) -> [Instruction] {
    guard program.last == .halt else {
      throw .unsupported(step: "step \(step)", reason: "its program does not end with halt")
    }
    var body = Array(program.dropLast())
    if body.last == .barrier { body.removeLast() }
    for (pc, instruction) in body.enumerated() {
      switch instruction {
      case .halt:
        throw .unsupported(step: "step \(step)", reason: "pc \(pc) halts before the end of the program")
      case .branch(_, _, _, let target), .jump(let target):
        guard target >= 0 && Int(target) <= body.count else {
          throw .unsupported(step: "step \(step)", reason: "pc \(pc) branches outside the program, to \(target)")
        }
        if Int(target) <= pc, body[Int(target)...pc].contains(where: { $0.unit != .scalar }) {
          throw .unsupported(
            step: "step \(step)", reason: "pc \(pc) loops back over unit instructions (only straight-line code links)")
        }
      default: break
      }
    }
    return body
  }

  /// The indices a branch may skip or repeat: a register written there has no single value.
  private static func conditionalIndices(_ body: [Instruction]) -> Set<Int> {
    var result = Set<Int>()
    for (pc, instruction) in body.enumerated() {
      switch instruction {
      case .branch(_, _, _, let target), .jump(let target):
        let target = Int(target)
        result.formUnion(target > pc ? pc + 1..<target : target..<pc + 1)
      default: break
      }
    }
    return result
  }

  /// Applies a scalar instruction to the known register values (`nil`: unknown).
  private static func evaluate(_ instruction: Instruction, _ registers: inout [Int64?], conditional: Bool) {
    let (rd, value): (Register, Int64?)
    switch instruction {
    case .li(let d, let imm): (rd, value) = (d, Int64(imm))
    case .addi(let d, let s, let imm): (rd, value) = (d, registers[Int(s)].map { $0 &+ Int64(imm) })
    case .alu(let op, let d, let a, let b):
      if let x = registers[Int(a)], let y = registers[Int(b)] {
        (rd, value) = (d, op == .add ? x &+ y : op == .sub ? x &- y : x &* y)
      } else {
        (rd, value) = (d, nil)
      }
    default: return
    }
    if rd != 0 { registers[Int(rd)] = conditional ? nil : value }
  }
}

/// The instructions the linker adds before and after positions of the joined step bodies.
private struct Insertions {
  var before: [Int: [Instruction]] = [:]
  var after: [Int: [Instruction]] = [:]
  let count: Int

  init(count: Int) { self.count = count }

  /// The joined bodies with the insertions, branch targets moved with their instructions (to
  /// the first instruction inserted before them), and a closing `barrier; halt`.
  func emit(_ bodies: [[Instruction]]) -> ProgramLinker.Linked {
    var start = [Int](repeating: 0, count: count + 1)
    var next = 0
    for position in 0..<count {
      start[position] = next
      next += (before[position]?.count ?? 0) + 1 + (after[position]?.count ?? 0)
    }
    start[count] = next
    var program: [Instruction] = []
    program.reserveCapacity(next + 2)
    var stepStarts: [Int] = []
    var base = 0
    for body in bodies {
      stepStarts.append(start[base])
      for (local, instruction) in body.enumerated() {
        let position = base + local
        program += before[position] ?? []
        switch instruction {
        case .branch(let condition, let a, let b, let target):
          program.append(.branch(condition, ra: a, rb: b, target: Int32(start[base + Int(target)])))
        case .jump(let target):
          program.append(.jump(target: Int32(start[base + Int(target)])))
        default:
          program.append(instruction)
        }
        program += after[position] ?? []
      }
      base += body.count
    }
    return ProgramLinker.Linked(program: program + [.barrier, .halt], stepStarts: stepStarts)
  }
}

/// Where each unit raises flags. A raise holds its unit until everything before it has
/// completed, so the linker's own raise costs nothing more right after an existing one; only
/// where there is none is the unit held right after the access.
private struct FlagRaises {
  private var positions = [[Int]](repeating: [], count: NPUUnit.allCases.count)

  /// `unit` raises a flag after `position`.
  mutating func add(_ unit: NPUUnit, at position: Int) {
    let u = Int(unit.rawValue)
    let index = positions[u].partitioningIndex { $0 >= position }
    if index == positions[u].count || positions[u][index] != position { positions[u].insert(position, at: index) }
  }

  /// Where to raise a flag once `unit` has completed its instruction at `needed`: after the
  /// first raise of `unit` from `needed` on that comes before `limit`, else after `needed`
  /// (recorded as a raise from then on).
  mutating func anchor(for unit: NPUUnit, atOrAfter needed: Int, before limit: Int) -> Int {
    let u = Int(unit.rawValue)
    let index = positions[u].partitioningIndex { $0 >= needed }
    if index < positions[u].count && positions[u][index] < limit { return positions[u][index] }
    add(unit, at: needed)
    return needed
  }
}

extension Array where Element == Int {
  /// The index of the first element for which `belongs` holds, in an array where it holds for a
  /// suffix.
  fileprivate func partitioningIndex(where belongs: (Int) -> Bool) -> Int {
    var (low, high) = (0, count)
    while low < high {
      let middle = (low + high) / 2
      if belongs(self[middle]) { high = middle } else { low = middle + 1 }
    }
    return low
  }
}

/// The latest access of each unit to each memory, and what each unit already waited for.
private struct HazardTracker {
  private var reads: [[LatestAccessMap]]
  private var writes: [[LatestAccessMap]]
  /// `synced[from][to]`: the latest position of `from` that `to` has waited for.
  private var synced: [[Int]]
  /// Everything before this position has completed (a barrier).
  private var completedBefore = 0
  private let units = NPUUnit.allCases.count

  init() {
    let memories = NPUMemory.allCases.count
    reads = Array(repeating: Array(repeating: LatestAccessMap(), count: memories), count: NPUUnit.allCases.count)
    writes = reads
    synced = Array(repeating: Array(repeating: -1, count: NPUUnit.allCases.count), count: NPUUnit.allCases.count)
  }

  /// For an `access` by `unit`: each other unit it must wait for, with the position after which
  /// that unit raises the flag; marks those waits as done.
  mutating func waits(for unit: NPUUnit, _ access: MemoryAccess) -> [(NPUUnit, Int)] {
    var result: [(NPUUnit, Int)] = []
    let (to, memory) = (Int(unit.rawValue), Int(access.memory.rawValue))
    for from in 1..<units where from != to {
      var needed = writes[from][memory].latest(in: access.bytes) ?? -1
      if access.writes { needed = Swift.max(needed, reads[from][memory].latest(in: access.bytes) ?? -1) }
      guard needed >= Swift.max(completedBefore, synced[from][to] + 1) else { continue }
      synced[from][to] = needed
      result.append((NPUUnit(rawValue: UInt8(from))!, needed))
    }
    return result
  }

  /// Whether a store of an earlier step to any of `bytes` of global memory may be unfinished.
  func storePending(to bytes: Range<Int>) -> Bool {
    (1..<units).contains { (writes[$0][0].latest(in: bytes) ?? -1) >= completedBefore }
  }

  /// Everything before `position` has completed.
  mutating func barrier(before position: Int) { completedBefore = position }

  /// Records `unit`'s `access` at `position`.
  mutating func record(_ unit: NPUUnit, _ access: MemoryAccess, at position: Int) {
    let (u, memory) = (Int(unit.rawValue), Int(access.memory.rawValue))
    if access.writes {
      writes[u][memory].record(access.bytes, at: position)
    } else {
      reads[u][memory].record(access.bytes, at: position)
    }
  }
}
