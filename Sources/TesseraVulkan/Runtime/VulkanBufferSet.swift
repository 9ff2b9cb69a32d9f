import TesseraCompiler
import TesseraIR
import TesseraRuntime

/// The device buffers of one compiled plan: the arena, one per graph argument, one per weight.
///
/// On a staged context (``VulkanContext/staged``) these are device-local and each has a
/// host-visible twin of the same size, where the host writes inputs and weights and reads
/// results; the command buffers copy between the two (``VulkanRecorder``). Otherwise the host
/// maps the device buffers themselves.
struct VulkanBufferSet: Sendable {
  let arena: VulkanBuffer
  let inputs: [VulkanBuffer]
  let weights: [ValueID: VulkanBuffer]
  /// Whether the buffers are device-local with host-visible twins.
  let staged: Bool
  private let twins: [VulkanRegion.Location: VulkanBuffer]

  /// Allocates the buffers of `plan` and writes its weights (into the twins when staged: the
  /// caller then uploads ``weightRegions``). Errors name the buffer; an `alloc` fault of
  /// `faults` for `device` fails the allocation of the buffer it hits.
  init(_ plan: CompiledPlan, context: VulkanContext, faults: FaultInjection, device: String) throws(VulkanError) {
    let graph = plan.graph
    staged = context.staged
    var twins: [VulkanRegion.Location: VulkanBuffer] = [:]
    func make(_ location: VulkanRegion.Location, _ size: Int) throws(VulkanError) -> VulkanBuffer {
      let name =
        switch location {
        case .arena: "the arena"
        case .input(let index): "%" + graph[graph.arguments[index]].name
        case .weights(let value): "%" + graph[value].name
        }
      let injected = faults.hit(.alloc, device: device, targets: [name]) != nil
      do {
        let buffer = try VulkanBuffer(context, size: size, deviceLocal: context.staged, injectFailure: injected)
        if context.staged { twins[location] = try VulkanBuffer(context, size: size) }
        return buffer
      } catch {
        throw .buffer(name, bytes: size, error)
      }
    }
    arena = try make(.arena, plan.memory.arenaBytes)
    var inputs: [VulkanBuffer] = []
    for (index, argument) in graph.arguments.enumerated() {
      inputs.append(try make(.input(index), graph.type(of: argument).storageBytes ?? 0))
    }
    self.inputs = inputs
    var weights: [ValueID: VulkanBuffer] = [:]
    for step in plan.steps where step.group.kind == .constant {
      guard let literal = graph.nodes[step.group.nodes[0]].literal else { continue }
      weights[step.group.root] = try make(.weights(step.group.root), literal.bytes.count)
      (twins[.weights(step.group.root)] ?? weights[step.group.root]!).write(literal.bytes, at: 0)
    }
    self.weights = weights
    self.twins = twins
  }

  /// The buffer at `location` that shaders bind.
  func buffer(_ location: VulkanRegion.Location) -> VulkanBuffer {
    switch location {
    case .arena: arena
    case .input(let index): inputs[index]
    case .weights(let value): weights[value]!
    }
  }

  /// The host-visible buffer holding `location`'s bytes for the host: its twin when staged.
  func host(_ location: VulkanRegion.Location) -> VulkanBuffer {
    twins[location] ?? buffer(location)
  }

  /// Every input buffer whole, as regions.
  var inputRegions: [VulkanRegion] {
    inputs.indices.map { VulkanRegion(location: .input($0), offset: 0, size: inputs[$0].size) }
  }

  /// Every weight buffer whole, as regions.
  var weightRegions: [VulkanRegion] {
    weights.map { VulkanRegion(location: .weights($0.key), offset: 0, size: $0.value.size) }
  }
}
