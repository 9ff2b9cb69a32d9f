import TesseraCompiler
import TesseraIR

/// The steps of a plan whose results depend only on arguments that no step writes — a model's
/// weights — such as `transpose(dequantize(W))`: given the same device tensors, they compute the
/// same bytes on every run, so a ``PlanRunner`` with a ``DerivedValueCache`` computes them once
/// and keeps their results outside the arena.
///
/// A step is invariant when it runs a kernel (on the device or the host) that writes only its
/// result, every value it reads is such an argument or an invariant step's result, its result
/// has a home of its own in the arena, and no other step writes that home.
struct InvariantSteps {
  /// The invariant steps, in plan order.
  let steps: [Int]
  /// The argument positions each invariant step's result depends on, by step.
  let sources: [Int: [Int]]
  private let plan: CompiledPlan
  private let definingNode: [ValueID: Int]
  private let argumentPositions: [ValueID: Int]

  /// Finds the invariant steps of `plan` prepared as `preparations`; `writtenArguments` are the
  /// positions of arguments some step writes (never a source).
  init(
    plan: CompiledPlan, preparations: [StepPreparation], argumentPositions: [ValueID: Int],
    writtenArguments: Set<Int>
  ) {
    self.plan = plan
    self.argumentPositions = argumentPositions
    definingNode = plan.graph.definingNode
    var writers: [ValueID: Set<Int>] = [:]
    for (index, step) in plan.steps.enumerated() {
      for value in step.call?.writes ?? [] { writers[plan.memory.storage(of: value), default: []].insert(index) }
    }
    var steps: [Int] = []
    var sources: [Int: [Int]] = [:]
    var rootSources: [ValueID: Set<Int>] = [:]
    for (index, step) in plan.steps.enumerated() {
      let root = step.group.root
      if case .skip = preparations[index] { continue }
      guard let call = step.call, step.group.kind != .constant, case .arena? = plan.memory.homes[root],
        plan.memory.storage(of: root) == root, writers[root] == [index],
        call.writes.allSatisfy({ plan.memory.storage(of: $0) == root })
      else { continue }
      var positions = Set<Int>()
      let readsOnlyInvariants = call.reads.allSatisfy { value in
        let storage = plan.memory.storage(of: value)
        if let position = argumentPositions[storage], !writtenArguments.contains(position) {
          positions.insert(position)
          return true
        }
        guard let upstream = rootSources[storage] else { return false }
        positions.formUnion(upstream)
        return true
      }
      guard readsOnlyInvariants, !positions.isEmpty else { continue }
      steps.append(index)
      sources[index] = positions.sorted()
      rootSources[root] = positions
    }
    self.steps = steps
    self.sources = sources
  }

  /// What step `index` computes, as text naming the device tensors it reads by identity
  /// (``Graph/derivedValueKey(of:tensors:argumentPositions:definingNode:)``).
  func key(of index: Int, tensors: [Int: DeviceTensor]) -> String {
    plan.graph.derivedValueKey(
      of: plan.steps[index].group.root, tensors: tensors, argumentPositions: argumentPositions,
      definingNode: definingNode)
  }
}
