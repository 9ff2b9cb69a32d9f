import TesseraCompiler
import TesseraIR
import TesseraRuntime

/// How the `cpu` device runs a compiled plan's steps, for ``PlanRunner``: matmul groups on the
/// native SGEMM or quantized matmul (with their epilogue), f32 `conv2d` groups on ``Convolution``
/// (im2col packed straight into SGEMM's panels, with their epilogue), lone f32 pooling on
/// ``Pooling``, lone f32 reductions over the trailing axes on ``NativeReduction``, single softmax / rms_norm / rope
/// library groups on ``RowKernels``, movement / select / f32 arithmetic groups through strided
/// views (``NativeStridedKernel``), lone `update_slice` and f32 `argmax` groups natively
/// (``NativeSliceUpdate``, ``NativeArgmax``), `dequantize` (and its transpose) of block-quantized
/// weights a block at a time (``NativeDequantize``), embedding lookups in an f32 or block-quantized
/// table row by row with their elementwise epilogue (``NativeEmbeddingGather``), every other kernel on its ``VectorKernel`` program,
/// built once here. A `dequantize` group read only by quantized native matmuls and embedding lookups
/// is skipped (they read the quantized weight directly); so is a movement group read only by matmuls that read its input
/// through a strided view. Quantized weights of matmuls are read as ``QuantizedTiles`` wherever
/// the precision mode has a tiled kernel for them (``QuantizedTiles/supports(_:precision:)``):
/// the tiles belong to the weight's ``CPUMemory`` (a bound parameter's, a constant's), made at
/// its first use and shared by every graph that reads it. Consecutive matmuls of a segment that
/// read the same activation with such tiles run as one step (``NativeSharedActivationMatmuls``).
final class CPUPlanBackend: PlanBackend {
  /// How one step runs.
  enum Action: @unchecked Sendable {
    case native(NativeMatmul)
    /// Consecutive native matmuls sharing their activation, made when a segment is encoded.
    case sharedActivation(NativeSharedActivationMatmuls)
    case convolution(NativeConvolution)
    case pooling(NativePooling)
    case reduction(NativeReduction)
    case rows(NativeRowKernel)
    case strided(NativeStridedKernel)
    case sliceUpdate(NativeSliceUpdate)
    case argmax(NativeArgmax)
    case dequantize(NativeDequantize)
    case gather(NativeEmbeddingGather)
    case vector(VectorKernel, KernelCall)
  }

  let device: CPUDevice
  let pool: CPUThreadPool
  let precision: QuantizedPrecision
  let graph: Graph
  /// The encoded segments that new argument memory can be rebound into, by their first step.
  private let rebindable = Locked<[Int: CPUEncodedSteps]>([:])

  init(device: CPUDevice, pool: CPUThreadPool, precision: QuantizedPrecision, graph: Graph) {
    self.device = device
    self.pool = pool
    self.precision = precision
    self.graph = graph
  }

  var store: any TensorStore { device }
  var faults: FaultInjection { device.faults }
  /// Every step runs here.
  var hostRunner: (any HostKernelRunner)? { nil }
  /// Steps are timed on the host clock (the CPU is its own device).
  var timesKernels: Bool { true }

  /// Host inputs are read where they are (nothing is allocated or copied for them).
  func borrow(_ tensor: Tensor) -> (any DeviceMemory)? {
    CPUMemory(borrowing: tensor, tileable: false, counter: device.allocations)
  }

  /// The action of each step; steps nothing reads are skipped.
  func prepare(_ plan: CompiledPlan) throws(DeviceError) -> [StepPreparation] {
    try plan.refuseInterleavedCopies(device: store.deviceName)
    let producers = graph.definingNode
    var actions: [Int: Action] = [:]
    for (index, step) in plan.steps.enumerated() {
      guard let call = step.call else { continue }
      if step.group.kind == .matmul, let native = NativeMatmul(step.group, in: graph, producers: producers) {
        actions[index] = .native(native)
      } else if step.group.kind == .matmul,
        let convolution = NativeConvolution(step.group, in: graph, producers: producers)
      {
        actions[index] = .convolution(convolution)
      } else if let pooling = NativePooling(step.group, in: graph) {
        actions[index] = .pooling(pooling)
      } else if let reduction = NativeReduction(step.group, in: graph) {
        actions[index] = .reduction(reduction)
      } else if let gather = NativeEmbeddingGather(step.group, in: graph, producers: producers) {
        actions[index] = .gather(gather)
      } else if let rows = NativeRowKernel(step.group, in: graph) {
        actions[index] = .rows(rows)
      } else if let strided = NativeStridedKernel(step.group, in: graph) {
        actions[index] = .strided(strided)
      } else if let update = NativeSliceUpdate(step.group, in: graph) {
        actions[index] = .sliceUpdate(update)
      } else if let argmax = NativeArgmax(step.group, in: graph) {
        actions[index] = .argmax(argmax)
      } else if let dequantize = NativeDequantize(step.group, in: graph) {
        actions[index] = .dequantize(dequantize)
      } else {
        actions[index] = .vector(VectorKernel(call.kernel), call)
      }
    }
    let unread = Self.readOnlyAtSource(Array(actions.values), graph: graph)
    return plan.steps.indices.map { index in
      guard let action = actions[index], !unread.contains(plan.steps[index].group.root) else { return .skip }
      return .device(action)
    }
  }

  /// The B matrices (dequantized or widened weights, views of inputs) and decoded embedding
  /// tables that only native matmuls reading B at its source and native embedding lookups read
  /// (and the graph does not return): nothing needs them materialised. So too what only such
  /// values read (a tied embedding's `cast(w)`, read by the lookup and by the output matmul's
  /// `transpose`).
  private static func readOnlyAtSource(_ actions: [Action], graph: Graph) -> Set<ValueID> {
    var sourceReaders: [ValueID: Int] = [:]
    // What those actions read in place of the value (the weight, the viewed input) stays.
    var readAtSource = Set(graph.arguments)
    for action in actions {
      switch action {
      case .native(let matmul) where matmul.readsBAtSource && matmul.a != matmul.bValue:
        sourceReaders[matmul.bValue, default: 0] += 1
        readAtSource.insert(matmul.b)
      case .gather(let gather):
        guard let decoded = gather.table.decoded else { break }
        sourceReaders[decoded, default: 0] += 1
        readAtSource.insert(gather.table.source)
      default: break
      }
    }
    var readers: [ValueID: Set<ValueID>] = [:]
    for node in graph.nodes {
      for operand in Set(node.operands) { readers[operand, default: []].insert(node.result) }
    }
    let returned = Set(graph.results)
    var unread = Set<ValueID>()
    while true {
      let found = readers.filter { value, reading in
        !unread.contains(value) && !returned.contains(value) && !readAtSource.contains(value)
          && reading.filter { !unread.contains($0) }.count == sourceReaders[value] ?? 0
      }
      if found.isEmpty { return unread }
      unread.formUnion(found.keys)
    }
  }

  /// Resolves the address of every value with a home, and the tiles of tiled weights (made now
  /// at their first use). Arguments the plan writes get owned bytes first. A segment encoded
  /// before that can be rebound (``CPUEncodedSteps``) only has its arguments' addresses updated.
  func encode(_ steps: [PreparedStep], plan: CompiledPlan, locate: (ValueID) -> ValueLocation) throws(DeviceError)
    -> any Sendable
  {
    let key = steps.first?.index ?? -1
    if let known = rebindable.withLock({ $0[key] }), known.stepIndices == steps.map(\.index),
      known.rebind(locate: locate)
    {
      return known
    }
    let written = Set(steps.flatMap { $0.call.writes.map(plan.memory.storage(of:)) })
    var pointers = [UnsafeMutableRawPointer?](repeating: nil, count: plan.graph.values.count)
    // A value stored in a skipped step's result (never computed) has no place: nothing reads it.
    for value in plan.memory.homes.keys where plan.memory.homes[plan.memory.storage(of: value)] != nil {
      let location = locate(value)
      let memory = location.memory as! CPUMemory
      let base = written.contains(plan.memory.storage(of: value)) ? try memory.writablePointer() : memory.pointer
      pointers[value.index] = base + location.offset
    }
    var tiles: [ValueID: UnsafeRawPointer] = [:]
    var actions: [(root: ValueID, action: Action)] = []
    for step in steps {
      let action = step.kernel as! Action
      actions.append((plan.steps[step.index].group.root, action))
      guard case .native(let matmul) = action, case .quantized(let dtype, transposed: true) = matmul.weights,
        QuantizedTiles.supports(dtype, precision: precision), tiles[matmul.b] == nil
      else { continue }
      let memory = locate(matmul.b).memory as! CPUMemory
      tiles[matmul.b] = memory.tiles(n: matmul.layout.n, k: matmul.layout.k, dtype: dtype, pool: pool)
    }
    let table = CPUPointerTable(pointers)
    let pointer: (ValueID) -> UnsafeMutableRawPointer = { table[$0]! }
    let grouped = NativeSharedActivationMatmuls.grouped(
      actions, reads: steps.map(\.call.reads), tiles: tiles, precision: precision, graph: plan.graph,
      pointer: { table[$0] })
    let encoded = CPUEncodedSteps(
      steps: grouped, runs: grouped.map { bound($0.action, root: $0.root, pointer: pointer, tiles: tiles) },
      stepIndices: steps.map(\.index),
      arguments: CPUEncodedSteps.rebindableArguments(
        of: plan, written: written, actions: grouped.map(\.action), tiles: tiles),
      table: table)
    if encoded.arguments != nil { rebindable.withLock { $0[key] = encoded } }
    return encoded
  }

  /// Runs the steps in order on the thread pool, timing each on the host clock when profiling.
  func submit(_ encoded: any Sendable, profile: Bool) throws(DeviceError) -> [KernelTiming] {
    let encoded = encoded as! CPUEncodedSteps
    guard profile else {
      for step in encoded.runs { try step.run() }
      return []
    }
    var timings: [KernelTiming] = []
    let origin = ContinuousClock.now
    for (run, (root, action)) in zip(encoded.runs, encoded.steps) {
      let start = ContinuousClock.now
      try run.run()
      timings.append(
        KernelTiming(
          kernel: name(of: action, root: root), seconds: Self.seconds(ContinuousClock.now - start),
          start: Self.seconds(start - origin)))
    }
    return timings
  }

  private static func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
  }

  /// The word a profile puts before a native convolution's `conv2d`: which kernel runs it, or
  /// nothing for im2col and SGEMM.
  private static func convolutionPath(_ shape: Convolution.Sizes) -> String {
    if DepthwiseConvolution.applies(to: shape) { return "depthwise " }
    if WinogradConvolution.applies(to: shape) { return "winograd " }
    return FewChannelConvolution.applies(to: shape) ? "direct " : ""
  }

  /// What a profile calls a step: the native path it took, or its kernel's name.
  private func name(of action: Action, root: ValueID) -> String {
    switch action {
    case .native(let matmul): "native matmul (\(matmul.weights)) → %\(graph[root].name)"
    case .sharedActivation(let matmuls):
      "native matmuls sharing %\(graph[matmuls.members[0].matmul.a].name) ("
        + matmuls.matrices.map { "\($0.dtype)" }.joined(separator: ", ") + ") → "
        + matmuls.members.map { "%" + graph[$0.root].name }.joined(separator: ", ")
    case .convolution(let kernel):
      "native \(Self.convolutionPath(kernel.shape))conv2d "
        + "\(kernel.shape.geometry.height.kernel)x\(kernel.shape.geometry.width.kernel) (\(kernel.shape.channels)→"
        + "\(kernel.shape.outputs), \(kernel.shape.geometry.height.output)×\(kernel.shape.geometry.width.output))"
        + "\(kernel.inputScale == nil ? "" : " of input scaled per channel") → %\(graph[root].name)"
    case .pooling(let kernel): "native \(kernel.reduction == .maximum ? "max" : "avg") pool → %\(graph[root].name)"
    case .reduction(let kernel): "native \(kernel.kind) → %\(graph[root].name)"
    case .rows(let kernel): "native \(kernel.operation) → %\(graph[root].name)"
    case .strided(let kernel): "native strided \(kernel.operation) → %\(graph[root].name)"
    case .sliceUpdate: "native update_slice → %\(graph[root].name)"
    case .argmax: "native argmax → %\(graph[root].name)"
    case .dequantize(let kernel):
      "native dequantize \(kernel.format)\(kernel.transposed ? " transposed" : "") → %\(graph[root].name)"
    case .gather(let kernel):
      "native gather (\(kernel.rowFormat) rows\(kernel.epilogue.isEmpty ? "" : ", epilogue")) → %\(graph[root].name)"
    case .vector(_, let call): "kernel \(call.kernel.name) → %\(graph[root].name)"
    }
  }
}

/// The device's memory is the host's: owned bytes, or a tensor's own bytes read in place.
extension CPUDevice: TensorStore {
  /// `cpu`.
  public var deviceName: String { info.name }

  /// Bytes the device allocated and still holds: allocations, written copies of borrowed
  /// tensors, and the tiles it repacked quantized weights into. Tensors it reads in place (an
  /// uploaded weight before or without tiles, a run's host inputs) are host memory it did not
  /// allocate, and are not counted; nor is a kernel's scratch during a run.
  public var allocatedBytes: Int { allocations.bytes }

  /// Zeroed bytes; an injected `alloc` fault for `name` fails them.
  public func allocate(bytes: Int, name: String) throws(DeviceError) -> any DeviceMemory {
    CPUMemory(
      owning: try OwnedBytes(
        count: bytes, buffer: name, device: info.name, counter: allocations,
        injected: faults.hit(.alloc, device: info.name, targets: [name])),
      counter: allocations)
  }

  /// Copies in (a borrowed tensor is copied into owned bytes first).
  public func write(_ bytes: UnsafeRawBufferPointer, to memory: any DeviceMemory, at offset: Int) throws(DeviceError) {
    try (memory as! CPUMemory).write(bytes, at: offset, pool: pool)
  }

  /// Copies out.
  public func read(_ memory: any DeviceMemory, at offset: Int, count: Int) throws(DeviceError) -> [UInt8] {
    Array(UnsafeRawBufferPointer(start: (memory as! CPUMemory).pointer + offset, count: count))
  }

  /// The tensor's own bytes, not copied: a mapped weight stays mapped until its tiles are made.
  /// An injected `alloc` fault for `name` fails it, as the allocation of what the device holds
  /// for the tensor.
  public func upload(_ tensor: Tensor, name: String) throws(DeviceError) -> any DeviceMemory {
    if let hit = faults.hit(.alloc, device: info.name, targets: [name]) {
      throw .allocationFailed(
        device: info.name, buffer: name, bytes: tensor.type.storageBytes ?? 0, message: hit.description)
    }
    return CPUMemory(borrowing: tensor, tileable: true, counter: allocations)
  }
}
