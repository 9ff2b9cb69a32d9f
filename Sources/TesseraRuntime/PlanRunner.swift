import TesseraCompiler
import TesseraIR

/// Runs a compiled plan on any ``PlanBackend``: the one place where a plan is walked.
///
/// Every value lives in one of four homes: the arena (intermediates, at the memory plan's
/// offsets), an argument's memory (a device tensor given to the run, or a buffer the runner
/// keeps per argument and fills from a host tensor), a constant's memory (uploaded once), or
/// another value's bytes (aliases, and `update_slice` results over the argument they update).
/// The arena is allocated at compile time or at the first run (as the backend says), then the
/// constants are uploaded at compile time; argument buffers come with the first run that needs
/// them. All are kept. Consecutive device steps are encoded once and submitted again while every
/// value stays in the same memory; host steps (the partitioner's fallback) read their buffers,
/// run on the backend's ``PlanBackend/hostRunner`` and write back what they wrote. A result
/// whose bytes are a device tensor argument's (an in-place update) comes back as that tensor;
/// every other result is read back. An injected `timeout` fails a run at the submission of the
/// first device segment it hits, before it is submitted. Where the backend keeps derived values
/// (``PlanBackend/derivedValues``) and every argument they read is given as a device tensor, the
/// steps that depend only on those tensors (``InvariantSteps``) run once, into memory of their
/// own shared through the cache, and again only when one of the tensors was written. Runs of one
/// runner are serialised (`@unchecked Sendable`: the kept state is touched only under the run
/// lock).
public final class PlanRunner: GraphExecutable, @unchecked Sendable {
  /// A run of consecutive device steps, or one host step.
  private enum Segment {
    /// The steps, and their kernels' names (what a `timeout` fault is matched against).
    case device([PreparedStep], kernels: [String])
    case host(KernelCall)
  }

  /// What the runner keeps between runs.
  private struct Resident {
    var arena: (any DeviceMemory)?
    var constants: [ValueID: any DeviceMemory] = [:]
    /// A buffer per argument given as a host tensor.
    var inputs: [Int: any DeviceMemory] = [:]
    /// The encoded device segments, and the argument memories they were encoded with (kept
    /// alive, so that no new memory can take the address of one of them and pass for it).
    var encoded: [Int: any Sendable] = [:]
    var encodedWith: [any DeviceMemory] = []
    /// The keys of the invariant steps (``InvariantSteps/key(of:tensors:)``), and the device
    /// tensors they were made for.
    var keys: [Int: String] = [:]
    var keyedFor: [ObjectIdentifier] = []
    /// The invariant steps whose results are kept, the segments of the other steps, and the
    /// memory plan the arena follows (the plan's own when nothing is kept).
    var kept: [Int] = []
    var varying: [Segment] = []
    var memory: MemoryPlan
  }

  /// The plan.
  public let plan: CompiledPlan
  private let backend: any PlanBackend
  private let store: any TensorStore
  private let preparations: [StepPreparation]
  /// Every step.
  private let segments: [Segment]
  /// The steps that depend only on unwritten arguments.
  private let invariant: InvariantSteps
  /// Each invariant step alone, by step index.
  private let invariantSegments: [Int: Segment]
  private let argumentPositions: [ValueID: Int]
  /// Arguments some step writes (an in-place update): host inputs for them are copied, never
  /// borrowed.
  private let writtenArguments: Set<Int>
  /// The results of steps the backend skips (the `cpu` device's dequantized weights, which its
  /// matmuls read at their source): nothing computes them, so the arena gives them no room.
  private let unmaterialised: Set<ValueID>
  /// Touched only under `running`.
  private var resident: Resident
  private let running = Lock()

  /// Prepares every step of `plan` on `backend`; fails when a step cannot be prepared, or when
  /// host steps need a runner the backend does not have.
  public init(plan: CompiledPlan, backend: any PlanBackend) throws(DeviceError) {
    self.plan = plan
    self.backend = backend
    store = backend.store
    let preparations = try TraceRecorder.span("prepare kernels") { () throws(DeviceError) in try backend.prepare(plan) }
    self.preparations = preparations
    unmaterialised = Set(
      plan.steps.indices.filter {
        guard case .skip = preparations[$0] else { return false }
        return plan.steps[$0].call != nil
      }.map { plan.steps[$0].group.root })
    resident = Resident(memory: unmaterialised.isEmpty ? plan.memory : plan.memory(keepingElsewhere: unmaterialised))
    segments = try Self.segments(of: plan, preparations, backend: backend, steps: plan.steps.indices)
    argumentPositions = Dictionary(uniqueKeysWithValues: plan.graph.arguments.enumerated().map { ($1, $0) })
    var written = Set<Int>()
    for step in plan.steps {
      for value in step.call?.writes ?? [] {
        if let position = argumentPositions[plan.memory.storage(of: value)] { written.insert(position) }
      }
    }
    writtenArguments = written
    // Without a cache no argument can be a source, so no step is invariant.
    invariant = InvariantSteps(
      plan: plan, preparations: preparations,
      argumentPositions: backend.derivedValues == nil ? [:] : argumentPositions, writtenArguments: written)
    var invariantSegments: [Int: Segment] = [:]
    for index in invariant.steps {
      invariantSegments[index] = try Self.segments(of: plan, preparations, backend: backend, steps: [index]).first
    }
    self.invariantSegments = invariantSegments
    if backend.allocatesArenaAtCompile { try allocateArena() }
    try TraceRecorder.span("upload constants") { () throws(DeviceError) in
      for step in plan.steps where step.group.kind == .constant {
        guard let literal = plan.graph.nodes[step.group.nodes[0]].literal else { continue }
        resident.constants[step.group.root] = try store.upload(literal, name: "%" + plan.graph[step.group.root].name)
      }
    }
  }

  /// Runs once; see ``PlanRunner``. With a ``TraceRecorder`` current, the run's host work is
  /// recorded as spans and every kernel's device time on the device's track (the kernels are
  /// timed as for `profile`).
  public func execute(_ inputs: [TensorValue], profile: Bool) throws(DeviceError) -> GraphRun {
    try running.withLock { () throws(DeviceError) in
      try TraceRecorder.span("run @\(plan.graph.name)", arguments: ["device": store.deviceName]) {
        () throws(DeviceError) in try run(inputs, profile: profile, trace: TraceRecorder.current)
      }
    }
  }

  private func run(_ inputs: [TensorValue], profile: Bool, trace: TraceRecorder?) throws(DeviceError) -> GraphRun {
    let graph = plan.graph
    precondition(inputs.count == graph.arguments.count, "CompiledGraph checks the input count")
    var traffic = Traffic()
    var memories: [any DeviceMemory] = []
    try TraceRecorder.span("upload inputs") { () throws(DeviceError) in
      for (position, input) in inputs.enumerated() {
        memories.append(try memory(for: input, at: position, traffic: &traffic))
      }
    }
    // Only invariant steps need the device tensors by position (none on a device without a cache).
    var tensors: [Int: DeviceTensor] = [:]
    if !invariant.steps.isEmpty {
      for (position, input) in inputs.enumerated() {
        if case .device(let tensor) = input { tensors[position] = tensor }
      }
    }
    let keptSteps = invariant.steps.filter { invariant.sources[$0]!.allSatisfy { tensors[$0] != nil } }
    if keptSteps != resident.kept { try keep(keptSteps) }
    try allocateArena()
    let (kept, stale) = try keptValues(of: keptSteps, tensors)
    let encodedWith = keptSteps.isEmpty ? memories : memories + keptSteps.map { kept[plan.steps[$0].group.root]! }
    let same =
      encodedWith.count == resident.encodedWith.count && zip(encodedWith, resident.encodedWith).allSatisfy { $0 === $1 }
    if !same {
      resident.encoded = [:]
      resident.encodedWith = encodedWith
    }
    let locate: (ValueID) -> ValueLocation = { [plan, argumentPositions, resident] value in
      let storage = plan.memory.storage(of: value)
      let size = plan.graph.type(of: value).storageBytes ?? 0
      if let position = argumentPositions[storage] {
        return ValueLocation(memory: memories[position], offset: 0, size: size)
      }
      if let memory = resident.constants[storage] ?? kept[storage] {
        return ValueLocation(memory: memory, offset: 0, size: size)
      }
      guard case .arena(let offset)? = resident.memory.homes[storage], let arena = resident.arena else {
        preconditionFailure("the memory plan gives %\(plan.graph[value].name) no home")
      }
      return ValueLocation(memory: arena, offset: offset, size: size)
    }
    var timings: [KernelTiming] = []
    for index in stale {
      timings += try run(invariantSegments[index]!, locate: locate, profile: profile, trace: trace, traffic: &traffic)
      let sources = invariant.sources[index]!.map { tensors[$0]! }
      backend.derivedValues?.record(
        resident.keys[index]!, value: kept[plan.steps[index].group.root]!, sources: sources)
    }
    for (index, segment) in (keptSteps.isEmpty ? segments : resident.varying).enumerated() {
      timings += try run(segment, encodedAs: index, locate: locate, profile: profile, trace: trace, traffic: &traffic)
    }
    for position in writtenArguments {
      if case .device(let tensor) = inputs[position] { tensor.markWritten() }
    }
    let results = try TraceRecorder.span("read back") { () throws(DeviceError) in
      try readResults(inputs, locate: locate, traffic: &traffic)
    }
    return GraphRun(results: results, kernels: profile && backend.timesKernels ? timings : nil, traffic: traffic)
  }

  /// The results: device tensors updated in place as themselves, the others read back.
  private func readResults(_ inputs: [TensorValue], locate: (ValueID) -> ValueLocation, traffic: inout Traffic)
    throws(DeviceError) -> [TensorValue]
  {
    var results: [TensorValue] = []
    for value in plan.graph.results {
      if let position = argumentPositions[plan.memory.storage(of: value)], case .device(let tensor) = inputs[position] {
        results.append(.device(tensor))
        continue
      }
      let location = locate(value)
      let bytes = try store.read(location.memory, at: location.offset, count: location.size)
      traffic.toHost += bytes.count
      results.append(.host(Tensor(type: plan.graph.type(of: value), bytes: bytes)!))
    }
    return results
  }

  /// Runs one segment; a device segment's encoding is kept as `encodedAs` when given. With a
  /// `trace`, its kernels are timed and recorded on the device's track.
  private func run(
    _ segment: Segment, encodedAs index: Int? = nil, locate: (ValueID) -> ValueLocation, profile: Bool,
    trace: TraceRecorder?, traffic: inout Traffic
  ) throws(DeviceError) -> [KernelTiming] {
    switch segment {
    case .device(let steps, let kernels):
      let encoded: any Sendable
      if let index, let known = resident.encoded[index] {
        encoded = known
      } else {
        encoded = try TraceRecorder.span("encode \(steps.count) step(s)") { () throws(DeviceError) in
          try backend.encode(steps, plan: planAsRun, locate: locate)
        }
        if let index { resident.encoded[index] = encoded }
      }
      if let hit = backend.faults.hit(.timeout, device: store.deviceName, targets: kernels) {
        throw .timeout(device: store.deviceName, kernels: kernels, reason: hit.description)
      }
      var anchor = 0.0
      let submitted = try TraceRecorder.span("submit \(steps.count) step(s)") { () throws(DeviceError) in
        anchor = trace?.now() ?? 0
        return try backend.submit(encoded, profile: profile || trace != nil)
      }
      trace?.recordKernels(submitted, device: store.deviceName, anchor: anchor)
      return submitted
    case .host(let call):
      try TraceRecorder.span("host step \(call.kernel.name)") { () throws(DeviceError) in
        try runOnHost(call, locate: locate, traffic: &traffic)
      }
      return []
    }
  }

  /// Keeps the results of the invariant steps `steps` from now on: the other steps' segments,
  /// and an arena without those results (the old one given back first, so the two never
  /// coexist; the run allocates the new one). Encodings made for the old layout are dropped.
  private func keep(_ steps: [Int]) throws(DeviceError) {
    let skipped = Set(steps)
    resident.varying = try Self.segments(
      of: plan, preparations, backend: backend, steps: plan.steps.indices.filter { !skipped.contains($0) })
    resident.kept = steps
    resident.encodedWith = []
    resident.encoded = [:]
    let elsewhere = unmaterialised.union(steps.map { plan.steps[$0].group.root })
    let memory = elsewhere.isEmpty ? plan.memory : plan.memory(keepingElsewhere: elsewhere)
    if memory.arenaBytes != resident.memory.arenaBytes { resident.arena = nil }
    resident.memory = memory
  }

  /// The memory of each of the invariant steps `steps`' results (by its root) for the device
  /// tensors `tensors`, from the backend's cache or newly allocated, and the steps whose results
  /// must be computed this run (new, or made from tensors written since), in plan order.
  private func keptValues(of steps: [Int], _ tensors: [Int: DeviceTensor]) throws(DeviceError) -> (
    [ValueID: any DeviceMemory], [Int]
  ) {
    guard !steps.isEmpty else { return ([:], []) }
    let identities = tensors.keys.sorted().map { ObjectIdentifier(tensors[$0]!) }
    if identities != resident.keyedFor {
      resident.keys = [:]
      resident.keyedFor = identities
    }
    var kept: [ValueID: any DeviceMemory] = [:]
    var stale: [Int] = []
    for index in steps {
      let root = plan.steps[index].group.root
      let sources = invariant.sources[index]!.map { tensors[$0]! }
      let key = resident.keys[index] ?? invariant.key(of: index, tensors: tensors)
      resident.keys[index] = key
      if let (memory, current) = backend.derivedValues?.lookup(key, sources: sources) {
        kept[root] = memory
        if !current { stale.append(index) }
      } else {
        let bytes = plan.memory.bytes[root] ?? plan.graph.type(of: root).storageBytes ?? 0
        kept[root] = try store.allocate(bytes: bytes, name: "%\(plan.graph[root].name) (kept)")
        stale.append(index)
      }
    }
    return (kept, stale)
  }

  /// The segments that run `steps` (indices of `plan`'s steps, in order): runs of consecutive
  /// device steps and single host steps. Fails when host steps need a runner the backend does
  /// not have.
  private static func segments(
    of plan: CompiledPlan, _ preparations: [StepPreparation], backend: any PlanBackend, steps: some Sequence<Int>
  ) throws(DeviceError) -> [Segment] {
    var segments: [Segment] = []
    var pending: [PreparedStep] = []
    func closeDeviceSegment() {
      guard !pending.isEmpty else { return }
      segments.append(.device(pending, kernels: pending.map(\.call.kernel.name)))
      pending = []
    }
    for index in steps {
      let step = plan.steps[index]
      guard let call = step.call else { continue }
      switch preparations[index] {
      case .skip: continue
      case .host:
        guard backend.hostRunner != nil else {
          throw .compileFailed(
            device: backend.store.deviceName,
            message: "the plan has steps for \(step.device) but no host kernel runner was given")
        }
        closeDeviceSegment()
        segments.append(.host(call))
      case .device(let kernel):
        pending.append(PreparedStep(index: index, call: call, kernel: kernel))
      }
    }
    closeDeviceSegment()
    return segments
  }

  /// The plan with the memory plan the arena follows now (the plan's own, less the values kept
  /// elsewhere or never computed), as the backend encodes steps against it.
  private var planAsRun: CompiledPlan {
    var plan = plan
    plan.memory = resident.memory
    return plan
  }

  /// The arena, unless it is there.
  private func allocateArena() throws(DeviceError) {
    if resident.arena == nil, resident.memory.arenaBytes > 0 {
      resident.arena = try store.allocate(bytes: resident.memory.arenaBytes, name: "the arena")
    }
  }

  /// Host tensors smaller than this are copied into their argument's kept buffer even where the
  /// backend could read them in place: new memory each run would mean encoding the plan again
  /// (a decode step's token and position on `cpu`), which costs more than copying a few bytes.
  public static let smallestBorrowed = 64 << 10

  /// The memory argument `position` reads this run: the device tensor's, the host tensor's own
  /// bytes where the backend can read them, the plan does not write them and they are at least
  /// ``smallestBorrowed``, else the argument's buffer with the tensor copied in.
  private func memory(for input: TensorValue, at position: Int, traffic: inout Traffic) throws(DeviceError)
    -> any DeviceMemory
  {
    // The argument's name only where it is needed: building it for every input of every run costs.
    func name() -> String { plan.graph[plan.graph.arguments[position]].name }
    switch input {
    case .device(let tensor):
      guard tensor.store === store else {
        throw .wrongDevice(name: name(), expected: store.deviceName, found: tensor.deviceName)
      }
      return tensor.memory
    case .host(let tensor):
      if !writtenArguments.contains(position), (tensor.type.storageBytes ?? 0) >= Self.smallestBorrowed,
        let borrowed = backend.borrow(tensor)
      {
        return borrowed
      }
      let buffer: any DeviceMemory
      if let kept = resident.inputs[position] {
        buffer = kept
      } else {
        buffer = try store.allocate(bytes: tensor.type.storageBytes ?? 0, name: "%" + name())
        resident.inputs[position] = buffer
      }
      try tensor.withUnsafeBytes { bytes throws(DeviceError) in try store.write(bytes, to: buffer, at: 0) }
      traffic.toDevice += tensor.type.storageBytes ?? 0
      return buffer
    }
  }

  /// Runs a fallback step on the host: reads its buffers, runs, writes back the written ones.
  private func runOnHost(_ call: KernelCall, locate: (ValueID) -> ValueLocation, traffic: inout Traffic)
    throws(DeviceError)
  {
    var buffers: [Tensor] = []
    for value in call.buffers {
      let location = locate(value)
      let bytes = try store.read(location.memory, at: location.offset, count: location.size)
      traffic.toHost += bytes.count
      buffers.append(Tensor(type: plan.graph.type(of: value), bytes: bytes)!)
    }
    let outputs = try backend.hostRunner!.run(call, buffers: buffers)
    for (position, parameter) in call.kernel.buffers.enumerated() where parameter.access != .read {
      let location = locate(call.buffers[position])
      try outputs[position].withUnsafeBytes { bytes throws(DeviceError) in
        try store.write(bytes, to: location.memory, at: location.offset)
      }
      traffic.toDevice += location.size
    }
  }
}
