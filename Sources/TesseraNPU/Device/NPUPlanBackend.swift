import TesseraCompiler
import TesseraIR
import TesseraRuntime

/// How the `npu` device turns the steps of a segment (consecutive npu steps of a plan) into
/// programs.
public enum NPUProgramGranularity: Sendable {
  /// One program per step, each run to its end before the next starts: the oracle the linked
  /// programs are tested against.
  case perStep
  /// One program per segment (``ProgramLinker``): the units' queues run on from step to step,
  /// synchronised only where the steps' memory accesses conflict.
  case linked
}

/// The `npu` device's side of a ``PlanRunner``: every buffer is a range of the device's
/// ``NPUGlobalMemory``; a step with an NPU form runs on the emulator, lowered for the global
/// addresses of its values when the runner encodes it (and, with ``NPUProgramGranularity/linked``,
/// linked with the other steps of its segment into one program), and the others on the host
/// runner. A profiled run returns each program's modelled time (cycles at the configured
/// clock); a recording backend also appends the cycle report of every program it ran to its
/// ``recorder``. Steps that depend only on the weights (each `transpose(dequantize(W))`)
/// run once per weight into the device's ``DerivedValueCache``, shared by its graphs.
///
/// Thread safety: `@unchecked Sendable`; the host-step reasons are written once, in
/// ``prepare(_:)`` (which ``PlanRunner`` calls from its initialiser), and the recorder is locked.
final class NPUPlanBackend: PlanBackend, @unchecked Sendable {
  /// A segment's programs, in order, each with the kernel names of its steps (a program of one
  /// step is linked from that step alone).
  private struct Encoded: Sendable {
    var programs: [(kernels: [String], linked: ProgramLinker.Linked)]
  }

  let global: NPUGlobalMemory
  let hostRunner: (any HostKernelRunner)?
  let faults = FaultInjection()
  let timesKernels = true
  let derivedValues: DeviceMemoryCache?
  private let config: NPUConfig
  private let emulator: Emulator
  private let trace: Bool
  private let granularity: NPUProgramGranularity
  /// Where the cycle reports of the programs run are appended, when recording.
  let recorder: Locked<CycleReport>?
  /// Why an npu step runs on the host, by step index (set by ``prepare(_:)``).
  private(set) var hostSteps: [Int: String] = [:]

  /// A backend over `global` keeping weight-only results in `derivedValues` (`nil`: computed on
  /// every run); with a `recorder`, appends the cycle report of every program it runs there,
  /// with every unit instruction's interval when `trace` is set; `granularity` says whether a
  /// segment's steps run as one linked program or one program each.
  init(
    global: NPUGlobalMemory, config: NPUConfig, host: any HostKernelRunner, derivedValues: DeviceMemoryCache?,
    recorder: Locked<CycleReport>? = nil, trace: Bool = false, granularity: NPUProgramGranularity = .linked
  ) {
    self.granularity = granularity
    self.global = global
    self.derivedValues = derivedValues
    self.config = config
    emulator = Emulator(config: config)
    hostRunner = host
    self.recorder = recorder
    self.trace = trace
  }

  var store: any TensorStore { global }

  /// Device memory: the arena is taken from global memory when the graph is compiled.
  var allocatesArenaAtCompile: Bool { true }

  func prepare(_ plan: CompiledPlan) throws(DeviceError) -> [StepPreparation] {
    try plan.refuseInterleavedCopies(device: store.deviceName)
    let lowered = NPUProgramSet(plan: plan, config: config)
    hostSteps = lowered.hostSteps
    return plan.steps.indices.map { index in
      guard plan.steps[index].call != nil else { return .skip }
      return lowered.programs[index] == nil ? .host : .device(index)
    }
  }

  func encode(_ steps: [PreparedStep], plan: CompiledPlan, locate: (ValueID) -> ValueLocation) throws(DeviceError)
    -> any Sendable
  {
    try withoutActuallyEscaping(locate) { locate throws(DeviceError) in
      let addresses: (ValueID) -> Int? = { value in
        let location = locate(value)
        return (location.memory as? NPUBuffer).map { $0.address + location.offset }
      }
      var programs: [(kernel: String, program: [Instruction])] = []
      for step in steps {
        do throws(NPUError) {
          let program = try NPULowering.program(
            for: plan.steps[step.index], in: plan, addresses: addresses, config: config)
          programs.append((step.call.kernel.name, program))
        } catch {
          throw .kernelFailed(kernel: step.call.kernel.name, message: error.description)
        }
      }
      guard granularity == .linked, programs.count > 1 else {
        return Encoded(
          programs: programs.map { ([$0.kernel], ProgramLinker.Linked(program: $0.program, stepStarts: [0])) })
      }
      do throws(NPUError) {
        let linked = try ProgramLinker.link(programs.map(\.program), config: config)
        return Encoded(programs: [(programs.map(\.kernel), linked)])
      } catch {
        throw .kernelFailed(kernel: programs.map(\.kernel).joined(separator: "+"), message: error.description)
      }
    }
  }

  /// Runs the programs one after another (a linked program's timing is named after its steps);
  /// with a ``TraceRecorder`` current, records every unit instruction's modelled interval on the
  /// unit's thread of the `npu` track. A fault names the step whose code raised it.
  func submit(_ encoded: any Sendable, profile: Bool) throws(DeviceError) -> [KernelTiming] {
    let tracer = TraceRecorder.current
    let anchor = tracer?.now() ?? 0
    var timings: [KernelTiming] = []
    var units: [DeviceInterval] = []
    var elapsed = 0
    for (kernels, linked) in (encoded as! Encoded).programs {
      let cycles = try global.withBytes { bytes throws(DeviceError) in
        do throws(NPUError) {
          return try emulator.run(linked.program, global: bytes, trace: (trace && recorder != nil) || tracer != nil)
        } catch {
          guard case .fault(let pc, _, _) = error else {
            throw .kernelFailed(kernel: kernels[0], message: error.description)
          }
          throw .kernelFailed(kernel: kernels[linked.step(containing: pc)], message: error.description)
        }
      }
      let kernel = kernels.count == 1 ? kernels[0] : "\(kernels.count) linked steps (\(kernels[0]) … \(kernels.last!))"
      recorder?.withLock { $0 = $0.followed(by: cycles) }
      if profile {
        timings.append(KernelTiming(kernel: kernel, seconds: seconds(cycles.cycles)))
      }
      if tracer != nil {
        units += cycles.events.map { event in
          DeviceInterval(
            name: event.name, thread: event.unit.description, offset: seconds(elapsed + event.start),
            seconds: seconds(event.end - event.start))
        }
      }
      elapsed += cycles.cycles
    }
    tracer?.recordDevice(units, device: global.deviceName, anchor: anchor)
    return timings
  }

  /// `cycles` at the configured clock.
  private func seconds(_ cycles: Int) -> Double { Double(cycles) / (config.clockGHz * 1e9) }
}
