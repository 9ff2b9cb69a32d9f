import TesseraCompiler
import TesseraIR

/// How a backend runs one plan step (``PlanBackend/prepare(_:)``).
public enum StepPreparation: Sendable {
  /// A kernel the device runs; the payload is the backend's own (a kernel object, a pipeline,
  /// a native routine), handed back to it in ``PreparedStep/kernel``.
  case device(any Sendable)
  /// The step runs on the host kernel runner (a step the partitioner gave the fallback device).
  case host
  /// Nothing runs: no one reads the step's result (the `cpu` device's matmuls read a
  /// dequantized weight at its source).
  case skip
}

extension StepPreparation {
  /// How each step of `plan` runs on a device that runs every step the partitioner placed on
  /// its target: ``skip`` without a kernel, ``host`` for the fallback's steps, else the kernel
  /// `make` prepares.
  public static func each(
    of plan: CompiledPlan, make: (KernelCall) throws(DeviceError) -> any Sendable
  ) throws(DeviceError) -> [StepPreparation] {
    var preparations: [StepPreparation] = []
    for step in plan.steps {
      guard let call = step.call else {
        preparations.append(.skip)
        continue
      }
      preparations.append(step.device == plan.target.name ? .device(try make(call)) : .host)
    }
    return preparations
  }
}

extension CompiledPlan {
  /// Throws ``DeviceError/compileFailed(device:message:)`` naming the first step placed on this
  /// plan's target that reads a buffer as a copy with rows interleaved (``KBuffer/interleave``):
  /// for the backends of `device` that do not make such copies (only a target asking for them,
  /// ``TargetCapabilities/interleavedWeightRows``, has such kernels).
  public func refuseInterleavedCopies(device: String) throws(DeviceError) {
    for step in steps where step.device == target.name {
      guard let call = step.call, let buffer = call.kernel.buffers.first(where: { $0.interleave != nil }) else {
        continue
      }
      throw .compileFailed(
        device: device,
        message:
          "kernel \(call.kernel.name) reads \(buffer.name) as a copy with rows interleaved (\(buffer.interleave!)), "
          + "which this device does not make")
    }
  }
}

/// A device step with the backend's preparation of it.
public struct PreparedStep: Sendable {
  /// The step's position in ``CompiledPlan/steps``.
  public var index: Int
  /// The kernel launch.
  public var call: KernelCall
  /// What ``PlanBackend/prepare(_:)`` made for it.
  public var kernel: any Sendable
}

/// Where a value's bytes are during a run.
public struct ValueLocation: Sendable {
  /// The device memory holding them.
  public var memory: any DeviceMemory
  /// The first byte.
  public var offset: Int
  /// Bytes of the value.
  public var size: Int

  /// Creates a location.
  public init(memory: any DeviceMemory, offset: Int, size: Int) {
    self.memory = memory
    self.offset = offset
    self.size = size
  }
}

/// What a backend supplies so that ``PlanRunner`` can walk its plans: the device's memory
/// (``store``), the preparation of each step, the encoding of consecutive device steps with
/// their buffers, and their submission. Everything else — where each value lives (arena,
/// argument, constant), constant upload, input copies, host-fallback steps, results, profiling,
/// the `timeout` fault hook — is the runner's, the same for every backend.
public protocol PlanBackend: AnyObject, Sendable {
  /// The device's memory: every buffer of a run, and the device tensors runs accept.
  var store: any TensorStore { get }
  /// The faults the device injects (the runner hits `timeout` at each submission).
  var faults: FaultInjection { get }
  /// Runs the steps prepared as ``StepPreparation/host``.
  var hostRunner: (any HostKernelRunner)? { get }
  /// Whether a profiled run returns each kernel's device time.
  var timesKernels: Bool { get }
  /// Whether the arena is allocated when the plan is compiled (GPUs: a graph that cannot have
  /// its memory fails to compile) rather than at its first run (`cpu`: no memory until used).
  var allocatesArenaAtCompile: Bool { get }
  /// Where the runner keeps the results of steps that depend only on unwritten device tensor
  /// arguments (``InvariantSteps``: a weight dequantised and transposed), computed once and
  /// shared by the device's graphs; `nil` to compute them on every run, in the arena.
  var derivedValues: DeviceMemoryCache? { get }
  /// Memory reading `tensor`'s own bytes for one run (never written), or `nil` when the device
  /// cannot read host memory and the runner must copy the tensor in.
  func borrow(_ tensor: Tensor) -> (any DeviceMemory)?
  /// How each step of `plan` runs, in plan order (errors: a kernel that cannot be built).
  func prepare(_ plan: CompiledPlan) throws(DeviceError) -> [StepPreparation]
  /// Encodes consecutive device steps with the memory of every value (`locate`). The runner
  /// submits the result again on later runs while every value stays in the same memory.
  func encode(_ steps: [PreparedStep], plan: CompiledPlan, locate: (ValueID) -> ValueLocation) throws(DeviceError)
    -> any Sendable
  /// Runs what ``encode(_:plan:locate:)`` made; when `profile` is set, returns each launch's
  /// device time in order. Later reads see its writes.
  func submit(_ encoded: any Sendable, profile: Bool) throws(DeviceError) -> [KernelTiming]
}

extension PlanBackend {
  /// The device cannot read host memory: inputs are copied in.
  public func borrow(_ tensor: Tensor) -> (any DeviceMemory)? { nil }
  /// The arena comes with the first run.
  public var allocatesArenaAtCompile: Bool { false }
  /// Every step runs on every run.
  public var derivedValues: DeviceMemoryCache? { nil }
}
