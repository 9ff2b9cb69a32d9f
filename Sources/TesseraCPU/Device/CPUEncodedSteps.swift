import TesseraCompiler
import TesseraIR
import TesseraRuntime

/// A device segment's steps with every pointer they use resolved, each bound to its memory once
/// (``CPUPlanBackend/bound(_:root:pointer:tiles:)``), so that a run only calls them. The steps
/// read the addresses from one table as they run. Where no step fixes an argument's address
/// while it is encoded (``rebindableArguments(of:written:actions:tiles:)``), a run whose
/// arguments are in other memory (a host tensor read in place) rewrites only the arguments'
/// entries (``rebind(locate:)``) instead of encoding the segment again: resolving every value's
/// address took about 100 µs of each MobileNetV3-Small run on `cpu`. A class: the runner hands
/// it back as `any Sendable`, and casting it back copies nothing.
final class CPUEncodedSteps: @unchecked Sendable {
  /// Each step's root and action, for the names of profiled steps.
  let steps: [(root: ValueID, action: CPUPlanBackend.Action)]
  /// Each step's kernel, ready to run.
  let runs: [StepRun]
  /// The indices of the plan's steps the segment was encoded from.
  let stepIndices: [Int]
  /// The values that live in an argument's memory, or nil where the segment must be encoded again
  /// for new argument memory.
  let arguments: [ValueID]?
  /// Every value's address.
  let table: CPUPointerTable

  init(
    steps: [(root: ValueID, action: CPUPlanBackend.Action)], runs: [StepRun], stepIndices: [Int],
    arguments: [ValueID]?, table: CPUPointerTable
  ) {
    self.steps = steps
    self.runs = runs
    self.stepIndices = stepIndices
    self.arguments = arguments
    self.table = table
  }

  /// Points the arguments' entries at the memory `locate` gives them now; false (changing
  /// nothing) where the segment cannot be rebound.
  func rebind(locate: (ValueID) -> ValueLocation) -> Bool {
    guard let arguments else { return false }
    for value in arguments {
      let location = locate(value)
      table[value] = (location.memory as! CPUMemory).pointer + location.offset
    }
    return true
  }

  /// The values of `plan` that live in an argument's memory, or nil when a step fixes one of
  /// their addresses while it is encoded: an argument the segment writes (its borrowed bytes are
  /// copied first), one a generated kernel's buffer bindings hold, one with tiles, or any
  /// argument of a segment that groups matmuls sharing an activation (grouping compares
  /// addresses).
  static func rebindableArguments(
    of plan: CompiledPlan, written: Set<ValueID>, actions: [CPUPlanBackend.Action], tiles: [ValueID: UnsafeRawPointer]
  ) -> [ValueID]? {
    let memory = plan.memory
    let arguments = memory.homes.keys.filter { memory.homes[memory.storage(of: $0)] == .input }
    let storages = Set(arguments.map(memory.storage(of:)))
    guard storages.isDisjoint(with: written), !tiles.keys.contains(where: { storages.contains(memory.storage(of: $0)) })
    else { return nil }
    for action in actions {
      switch action {
      case .sharedActivation: return nil
      case .vector(_, let call) where call.buffers.contains(where: { storages.contains(memory.storage(of: $0)) }):
        return nil
      default: continue
      }
    }
    return arguments
  }
}

/// Each value's address in a plan's memory, by value index. `@unchecked Sendable`: written while
/// a segment is encoded or rebound, under the runner's run lock, and read by that run's steps.
final class CPUPointerTable: @unchecked Sendable {
  private let addresses: UnsafeMutablePointer<UnsafeMutableRawPointer?>
  private let count: Int

  /// A table of `addresses`.
  init(_ addresses: [UnsafeMutableRawPointer?]) {
    count = addresses.count
    self.addresses = .allocate(capacity: Swift.max(1, count))
    self.addresses.initialize(from: addresses, count: count)
  }

  /// The address of `value`.
  subscript(value: ValueID) -> UnsafeMutableRawPointer? {
    get { addresses[value.index] }
    set { addresses[value.index] = newValue }
  }

  deinit { addresses.deallocate() }
}
