import TesseraCompiler
import TesseraIR

/// Where every buffer of a plan lives in the NPU's global memory: the arena first, then the
/// arguments and the constants, each 256-byte aligned.
public struct GlobalLayout: Sendable {
  /// Byte address of each stored value (aliases resolve through the memory plan).
  public private(set) var addresses: [ValueID: Int] = [:]
  /// Bytes of global memory the plan needs.
  public private(set) var bytes: Int
  private let memory: MemoryPlan

  /// Lays out `plan`.
  public init(plan: CompiledPlan) {
    memory = plan.memory
    bytes = plan.memory.arenaBytes
    for (value, home) in plan.memory.homes {
      if case .arena(let offset) = home { addresses[value] = offset }
    }
    let stored = plan.graph.arguments + plan.steps.filter { $0.group.kind == .constant }.map(\.group.root)
    for value in stored where addresses[value] == nil {
      bytes = (bytes + 255) / 256 * 256
      addresses[value] = bytes
      bytes += plan.graph.type(of: value).storageBytes ?? 0
    }
  }

  /// The address of `value`'s storage.
  public func address(of value: ValueID) -> Int? { addresses[memory.storage(of: value)] }
}

/// Compiled plan steps → NPU programs: matmul groups on the cube with their epilogue on the
/// vector unit, elementwise groups (dequantization, comparisons and selection included) and
/// reduction groups (with their prologue and epilogue, argmax too) on the vector unit; a lone
/// `gather` of rows and an `update_slice` as copies at run-time rows, a lone `rope` at run-time
/// positions. Each program ends with
/// `barrier; halt`.
public enum NPULowering {
  /// The program for one step placed on the npu with its values at `layout`'s addresses;
  /// `unsupported` when the step has no NPU form.
  public static func program(
    for step: PlanStep, in plan: CompiledPlan, layout: GlobalLayout, config: NPUConfig = NPUConfig()
  ) throws(NPUError) -> [Instruction] {
    try program(for: step, in: plan, addresses: layout.address(of:), config: config)
  }

  /// The program for one step placed on the npu, each value's storage at the global address
  /// `addresses` gives (`nil`: the value has none); `unsupported` when the step has no NPU form.
  public static func program(
    for step: PlanStep, in plan: CompiledPlan, addresses: @escaping (ValueID) -> Int?, config: NPUConfig = NPUConfig()
  ) throws(NPUError) -> [Instruction] {
    let graph = plan.graph
    let name = step.call?.kernel.name ?? "%" + graph[step.group.root].name
    let builder = ProgramBuilder(step: name)
    let address: (ValueID) throws(NPUError) -> Int = { value throws(NPUError) in
      guard let address = addresses(value) else {
        throw .unsupported(step: name, reason: "%\(graph[value].name) has no place in global memory")
      }
      return address
    }
    let rootType = graph.type(of: step.group.root)
    let output = (address: try address(step.group.root), dtype: rootType.dtype, shape: rootType.shape)
    switch step.group.kind {
    case .matmul:
      try MatmulLowering(group: step.group, graph: graph, builder: builder, config: config, address: address)
        .emit(output: output)
    case .reduction:
      try ReductionLowering(group: step.group, graph: graph, builder: builder, config: config, address: address)
        .emit(output: output)
    case .elementwise where GatherLowering.matches(step.group, in: graph):
      try GatherLowering(group: step.group, graph: graph, builder: builder, config: config, address: address)
        .emit(output: output.address)
    case .elementwise where step.group.nodes.count == 1 && graph.nodes[step.group.nodes[0]].kind == .rope:
      try RopeLowering(
        node: graph.nodes[step.group.nodes[0]], graph: graph, builder: builder, config: config, address: address
      ).emit(output: output.address)
    case .library where step.group.nodes.count == 1 && graph.nodes[step.group.nodes[0]].kind == .updateSlice:
      try UpdateSliceLowering(
        node: graph.nodes[step.group.nodes[0]], graph: graph, builder: builder, config: config, address: address
      ).emit(output: output.address)
    case .elementwise:
      guard output.dtype != .i32 else {
        throw .unsupported(step: name, reason: "an i32 result would pass through f32 lanes, exact only below 2^24")
      }
      let space = ElementwiseSpace(step.group, in: graph)
      let expression = try TileExpression(
        step.group, value: space.value, at: space.coordinates, in: graph, step: name)
      var pipeline = TilePipeline(
        expression: expression, builder: builder, config: config, graph: graph, output: output, address: address,
        readAccumulators: nil, outputStrides: space.outputStrides)
      guard pipeline.capacity >= 32 else {
        throw .unsupported(step: name, reason: "the group needs \(expression.slots) UB slots")
      }
      for box in TilePipeline.boxes(space.shape, capacity: pipeline.capacity) { try pipeline.emit(box) }
    default:
      throw .unsupported(step: name, reason: "a \(step.group.kind.rawValue) group has no NPU lowering")
    }
    builder.emit(.barrier)
    builder.emit(.halt)
    return builder.program
  }

  /// Every npu step's program as `.npuasm`, each under a comment naming its step
  /// (`tessera compile --target npu --emit npu-asm`).
  public static func assembly(for plan: CompiledPlan, config: NPUConfig = NPUConfig()) -> String {
    let lowered = NPUProgramSet(plan: plan, config: config)
    var text = "; npu programs for @\(plan.graph.name); global memory \(lowered.layout.bytes) bytes\n"
    for (index, step) in plan.steps.enumerated() {
      guard let call = step.call else { continue }
      if let program = lowered.programs[index] {
        text += "\n; \(call.kernel.name): \(program.count) instructions\n" + Disassembler.text(program)
      } else if let reason = lowered.hostSteps[index] {
        text += "\n; \(call.kernel.name): on the host: \(reason)\n"
      } else {
        text += "\n; \(call.kernel.name): on \(step.device)\(step.fallbackReason.map { " (\($0))" } ?? "")\n"
      }
    }
    return text
  }
}
