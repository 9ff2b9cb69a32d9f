/// Runs NPU programs: functionally exact execution in the order the cycle model schedules the
/// units, and the cycle count with it.
///
/// The scalar unit fetches one instruction per cycle, executes scalar instructions itself and
/// dispatches the others to their unit's in-order queue (a full queue stalls it). A unit starts
/// its next instruction when it is free and the instruction has arrived; DMA units and the cube
/// are pipelined (busy for the transfer or the fractals, the result visible after the latency
/// too), the vector unit finishes one instruction before the next. `set_flag` takes effect when
/// everything earlier on its unit has completed; `wait_flag` holds its unit until then. Data
/// effects happen at each instruction's start, in time order, so a missing flag shows up as a
/// wrong result, as it would on the hardware.
public struct Emulator: Sendable {
  /// Buffer sizes and costs.
  public var config: NPUConfig
  /// On-chip buffers kept from run to run.
  private let banks = BankPool()

  /// Creates an emulator with `config`.
  public init(config: NPUConfig = NPUConfig()) { self.config = config }

  /// Runs `program` over `globalMemory` (updated in place); `functional: false` only counts
  /// cycles. `trace` records every unit instruction's interval.
  public func run(
    _ program: [Instruction], globalMemory: inout [UInt8], functional: Bool = true, trace: Bool = false
  ) throws(NPUError) -> CycleReport {
    try globalMemory.withUnsafeMutableBytes { bytes in
      Result { () throws(NPUError) in try run(program, global: bytes, functional: functional, trace: trace) }
    }.get()
  }

  /// Runs `program` over the global memory at `global`, read and written in place (nothing is
  /// written when `functional` is false).
  public func run(
    _ program: [Instruction], global: UnsafeMutableRawBufferPointer, functional: Bool = true, trace: Bool = false
  ) throws(NPUError) -> CycleReport {
    let bank = banks.take(config: config, global: global)
    defer { banks.give(bank) }
    var scheduler = Scheduler(
      program: program, machine: Machine(config: config, memory: bank, functional: functional), trace: trace)
    return try scheduler.run()
  }
}

/// The event loop of one run.
private struct Scheduler {
  struct Issued {
    var instruction: Instruction
    var pc: Int
    var values: [Int64]
    var arrival: Int
  }

  let program: [Instruction]
  let machine: Machine
  let trace: Bool
  var report: CycleReport
  var registers = [Int64](repeating: 0, count: 32)
  var pc = 0, time = 0, executed = 0, halted = false
  var queues = [[Issued]](repeating: [], count: NPUUnit.allCases.count)
  var heads = [Int](repeating: 0, count: NPUUnit.allCases.count)
  var free = [Int](repeating: 0, count: NPUUnit.allCases.count)
  var drained = [Int](repeating: 0, count: NPUUnit.allCases.count)
  var starts = [[Int]](repeating: [], count: NPUUnit.allCases.count)
  var dispatched = [Int](repeating: 0, count: NPUUnit.allCases.count)
  /// Raise times of each flag not yet waited for, by ``key(_:_:_:)``.
  var flags = [[Int]](repeating: [], count: Scheduler.key(.mte3, .mte3, 15) + 1)
  /// The report's counts as arrays while running (by unit and route raw value): a dictionary
  /// update per instruction cost more than the instruction.
  var instructions = [Int](repeating: 0, count: NPUUnit.allCases.count)
  var busy = [Int](repeating: 0, count: NPUUnit.allCases.count)
  var moved = [Int](repeating: 0, count: DMARoute.allCases.count)

  init(program: [Instruction], machine: Machine, trace: Bool) {
    self.program = program
    self.machine = machine
    self.trace = trace
    report = CycleReport(config: machine.config)
  }

  func pending(_ unit: NPUUnit) -> Int { queues[Int(unit.rawValue)].count - heads[Int(unit.rawValue)] }
  var idle: Bool { NPUUnit.allCases.allSatisfy { pending($0) == 0 } }
  static func key(_ from: NPUUnit, _ to: NPUUnit, _ id: UInt8) -> Int {
    Int(from.rawValue) << 8 | Int(to.rawValue) << 4 | Int(id)
  }

  mutating func run() throws(NPUError) -> CycleReport {
    while true {
      let candidate = nextUnit()
      let scalarReady = try scalarCanRun()
      if let (unit, start) = candidate, !scalarReady || start <= time {
        try begin(unit, at: start)
      } else if scalarReady {
        try step()
      } else if halted && idle {
        break
      } else {
        let waiting = NPUUnit.allCases.filter { pending($0) > 0 }.map { unit in
          let head = queues[Int(unit.rawValue)][heads[Int(unit.rawValue)]]
          return "\(unit) at pc \(head.pc): \(Disassembler.text(head.instruction))"
        }
        throw .deadlock(waiting: waiting + (halted ? [] : ["scalar at pc \(pc): \(Disassembler.text(program[pc]))"]))
      }
    }
    report.cycles = Swift.max(time, drained.max() ?? 0)
    for unit in NPUUnit.allCases {
      let u = Int(unit.rawValue)
      if instructions[u] > 0 { report.instructions[unit] = instructions[u] }
      if busy[u] > 0 { report.busy[unit] = busy[u] }
    }
    for route in DMARoute.allCases where moved[Int(route.rawValue)] > 0 {
      report.bytes[route] = moved[Int(route.rawValue)]
    }
    return report
  }

  /// The unit whose head instruction can start first, and when.
  func nextUnit() -> (NPUUnit, Int)? {
    var best: (NPUUnit, Int)?
    for unit in NPUUnit.allCases where unit != .scalar && pending(unit) > 0 {
      let u = Int(unit.rawValue)
      let head = queues[u][heads[u]]
      var start = Swift.max(head.arrival, free[u])
      switch head.instruction {
      case .setFlag: start = Swift.max(start, drained[u])
      case .waitFlag(let from, let to, let id):
        guard let raised = flags[Self.key(from, to, id)].first else { continue }
        start = Swift.max(start, raised)
      default: break
      }
      if best == nil || start < best!.1 { best = (unit, start) }
    }
    return best
  }

  /// Whether the scalar unit can execute its next instruction now.
  mutating func scalarCanRun() throws(NPUError) -> Bool {
    guard !halted else { return false }
    guard pc >= 0 && pc < program.count else {
      throw .fault(
        pc: pc, instruction: "-",
        message: "the program counter left the program (\(program.count) instructions) without halt")
    }
    let instruction = program[pc]
    switch instruction {
    case .barrier, .halt: return idle
    default:
      return instruction.unit == .scalar || pending(instruction.unit) < machine.config.queueDepth
    }
  }

  /// Runs the scalar unit's next instruction.
  mutating func step() throws(NPUError) {
    let instruction = program[pc]
    executed += 1
    guard executed <= machine.config.instructionBudget else {
      throw .fault(
        pc: pc, instruction: Disassembler.text(instruction),
        message: "the instruction budget (\(machine.config.instructionBudget)) is exhausted: an endless loop?")
    }
    instructions[Int(NPUUnit.scalar.rawValue)] += 1
    busy[Int(NPUUnit.scalar.rawValue)] += 1
    var next = pc + 1
    func set(_ register: Register, _ value: Int64) { if register != 0 { registers[Int(register)] = value } }
    switch instruction {
    case .li(let rd, let imm): set(rd, Int64(imm))
    case .addi(let rd, let rs, let imm): set(rd, registers[Int(rs)] &+ Int64(imm))
    case .loadGlobal(let rd, let rs, let imm):
      // The word arrives after the global-memory read latency; the scalar unit waits for it.
      set(rd, try machine.loadWord(at: registers[Int(rs)] &+ Int64(imm), instruction, pc: pc))
      time += machine.config.gmRead.latency
    case .alu(let op, let rd, let ra, let rb):
      let (a, b) = (registers[Int(ra)], registers[Int(rb)])
      set(rd, op == .add ? a &+ b : op == .sub ? a &- b : a &* b)
    case .branch(let condition, let ra, let rb, let target):
      let (a, b) = (registers[Int(ra)], registers[Int(rb)])
      let taken =
        switch condition {
        case .blt: a < b
        case .bge: a >= b
        case .beq: a == b
        case .bne: a != b
        }
      if taken { next = Int(target) }
    case .jump(let target): next = Int(target)
    case .halt:
      halted = true
      time = Swift.max(time, drained.max() ?? 0)
      return
    case .barrier: time = Swift.max(time, drained.max() ?? 0)
    case .trap(let code):
      throw .fault(
        pc: pc, instruction: Disassembler.text(instruction),
        message: "the program trapped: \(Instruction.trapMeanings[code] ?? "code \(code)")")
    default:
      let unit = instruction.unit
      let u = Int(unit.rawValue)
      // A full queue stalled the scalar unit until the instruction `queueDepth` ahead started.
      if dispatched[u] >= machine.config.queueDepth {
        time = Swift.max(time, starts[u][dispatched[u] - machine.config.queueDepth])
      }
      dispatched[u] += 1
      let values = try operandValues(instruction)
      queues[u].append(Issued(instruction: instruction, pc: pc, values: values, arrival: time + 1))
    }
    time += 1
    pc = next
  }

  /// The register values a unit instruction reads, captured at dispatch.
  func operandValues(_ instruction: Instruction) throws(NPUError) -> [Int64] {
    if case .dma(_, _, _, let descriptor) = instruction, descriptor > 22 {
      throw .fault(
        pc: pc, instruction: Disassembler.text(instruction),
        message: "the descriptor x\(descriptor)…x\(Int(descriptor) + 9) runs past x31")
    }
    return instruction.operandRegisters.map { registers[Int($0)] }
  }

  /// Starts the head instruction of `unit` at `start`.
  mutating func begin(_ unit: NPUUnit, at start: Int) throws(NPUError) {
    let u = Int(unit.rawValue)
    let issued = queues[u][heads[u]]
    heads[u] += 1
    if heads[u] > 1024 {
      queues[u].removeFirst(heads[u])
      heads[u] = 0
    }
    starts[u].append(start)
    instructions[u] += 1
    switch issued.instruction {
    case .setFlag(let from, let to, let id):
      flags[Self.key(from, to, id)].append(start)
      free[u] = start
    case .waitFlag(let from, let to, let id):
      flags[Self.key(from, to, id)].removeFirst()
      free[u] = start
    default:
      let cost = try machine.execute(issued.instruction, issued.values, pc: issued.pc)
      let pipelined = unit != .vector
      let completion = start + cost.occupancy + cost.latency
      free[u] = pipelined ? start + cost.occupancy : completion
      drained[u] = Swift.max(drained[u], completion)
      busy[u] += pipelined ? cost.occupancy : cost.occupancy + cost.latency
      report.macs += cost.macs
      if let traffic = cost.moved { moved[Int(traffic.route.rawValue)] += traffic.read }
      if trace {
        report.events.append(
          TraceEvent(unit: unit, name: Disassembler.text(issued.instruction), start: start, end: free[u]))
      }
    }
  }
}
