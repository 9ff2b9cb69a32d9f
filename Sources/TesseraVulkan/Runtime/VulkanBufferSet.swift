import TesseraCompiler
import TesseraIR

/// The device buffers of one compiled plan: the arena, one per graph argument, one per weight.
struct VulkanBufferSet: Sendable {
  let arena: VulkanBuffer
  let inputs: [VulkanBuffer]
  let weights: [ValueID: VulkanBuffer]

  /// Allocates the buffers of `plan` and uploads its weights.
  init(_ plan: CompiledPlan, context: VulkanContext) throws(VulkanError) {
    let graph = plan.graph
    arena = try VulkanBuffer(context, size: plan.memory.arenaBytes)
    var inputs: [VulkanBuffer] = []
    for argument in graph.arguments {
      inputs.append(try VulkanBuffer(context, size: graph.type(of: argument).storageBytes ?? 0))
    }
    self.inputs = inputs
    var weights: [ValueID: VulkanBuffer] = [:]
    for step in plan.steps where step.group.kind == .constant {
      guard let literal = graph.nodes[step.group.nodes[0]].literal else { continue }
      let buffer = try VulkanBuffer(context, size: literal.bytes.count)
      buffer.write(literal.bytes, at: 0)
      weights[step.group.root] = buffer
    }
    self.weights = weights
  }

  /// The buffer at `location`.
  func buffer(_ location: VulkanRegion.Location) -> VulkanBuffer {
    switch location {
    case .arena: arena
    case .input(let index): inputs[index]
    case .weights(let value): weights[value]!
    }
  }
}
