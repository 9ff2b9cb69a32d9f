import TesseraCompiler
import TesseraIR
import TesseraRuntime

/// A plan with the NPU program of each npu step, lowered at the plan's own layout
/// (``GlobalLayout``: the arena from address 0, then the arguments and constants). It decides
/// which npu steps have an NPU form and shows the programs (`tessera compile --emit npu-asm`,
/// the cycle-model benchmarks); a run lowers the same steps again at the addresses its buffers
/// have in the device's global memory.
public struct NPUProgramSet: Sendable {
  /// The compiled plan.
  public let plan: CompiledPlan
  /// The addresses the programs use.
  public let layout: GlobalLayout
  /// Program of each step index that runs on the NPU.
  public let programs: [Int: [Instruction]]
  /// Why a step placed on the npu still runs on the host, by step index.
  public let hostSteps: [Int: String]

  /// Lowers every npu step of `plan`.
  public init(plan: CompiledPlan, config: NPUConfig = NPUConfig()) {
    self.plan = plan
    layout = GlobalLayout(plan: plan)
    var programs: [Int: [Instruction]] = [:]
    var hostSteps: [Int: String] = [:]
    let lowered = plan.steps.indices.filter { plan.steps[$0].call != nil && plan.steps[$0].device == plan.target.name }
    let progress = ProgressLine("lowering NPU programs", total: lowered.count)
    defer { progress.finish() }
    for index in lowered {
      let step = plan.steps[index]
      defer { progress.advance() }
      do {
        programs[index] = try NPULowering.program(for: step, in: plan, layout: layout, config: config)
      } catch {
        hostSteps[index] = error.description
      }
    }
    self.programs = programs
    self.hostSteps = hostSteps
  }
}
