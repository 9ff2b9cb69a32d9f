import TesseraCompiler
import TesseraIR
import TesseraRuntime

/// Executes a compiled plan on the CPU: one arena allocation per run, weights copied once at
/// compile time, matmul groups on the native SGEMM or quantized matmul (with their epilogue),
/// single softmax / rms_norm / rope library groups on ``RowKernels``, movement / select / f32
/// arithmetic groups through strided views (``NativeStridedKernel``), every other kernel on its
/// ``VectorKernel`` program, built once here. Quantized weights of matmuls are read as
/// ``QuantizedTiles`` wherever the precision mode has a tiled kernel for them
/// (``QuantizedTiles/supports(_:precision:)``): constants repacked here, views (a mapped model's
/// tensors) through the device's ``TiledWeightCache``. A `dequantize` group read only by quantized native
/// matmuls is skipped: they read the quantized weight directly; so is a movement group read only
/// by matmuls that read its input through a strided view. The buffers it allocates (the
/// constants, and an arena when no kept one is free) fail with
/// ``DeviceError/allocationFailed(device:buffer:bytes:message:)`` when the allocator does, or when
/// an injected `alloc` fault hits them.
final class CPUPlanExecutor: ProfilingExecutable {
  /// How one step runs.
  enum Action: Sendable {
    case native(NativeMatmul)
    case rows(NativeRowKernel)
    case strided(NativeStridedKernel)
    case vector(VectorKernel, KernelCall)
  }

  let plan: CompiledPlan
  let pool: CPUThreadPool
  let precision: QuantizedPrecision
  let actions: [(root: ValueID, action: Action)]
  private let weights: [ValueID: OwnedBytes]
  /// Weights the quantized matmuls read as tiles (`n × k`): arguments, looked up per run…
  private let tiledArguments: [(argument: Int, value: ValueID, n: Int, k: Int)]
  /// …and constants, repacked once.
  let tiledConstants: [ValueID: OwnedBytes]
  private let tileCache: TiledWeightCache
  /// Arenas of finished runs, reused by the next (page faults and zeroing once, not per run).
  private let arenas: ArenaPool

  init(
    plan: CompiledPlan, pool: CPUThreadPool, precision: QuantizedPrecision, device: String, faults: FaultInjection,
    tileCache: TiledWeightCache = TiledWeightCache()
  ) throws(DeviceError) {
    self.plan = plan
    self.pool = pool
    self.precision = precision
    let graph = plan.graph, producers = graph.definingNode
    var weights: [ValueID: OwnedBytes] = [:]
    var actions: [(ValueID, Action)] = []
    for step in plan.steps {
      if step.group.kind == .constant, let literal = graph.nodes[step.group.nodes[0]].literal {
        let name = "%" + graph[step.group.root].name
        let bytes = try OwnedBytes(
          count: literal.bytes.count, buffer: name, device: device,
          injected: faults.hit(.alloc, device: device, targets: [name]))
        bytes.copy(literal.bytes)
        weights[step.group.root] = bytes
      }
      guard let call = step.call else { continue }
      if step.group.kind == .matmul, let native = NativeMatmul(step.group, in: graph, producers: producers) {
        actions.append((step.group.root, .native(native)))
      } else if let rows = NativeRowKernel(step.group, in: graph) {
        actions.append((step.group.root, .rows(rows)))
      } else if let strided = NativeStridedKernel(step.group, in: graph) {
        actions.append((step.group.root, .strided(strided)))
      } else {
        actions.append((step.group.root, .vector(VectorKernel(call.kernel), call)))
      }
    }
    let unread = Self.readOnlyByMatmulsAtSource(actions.map(\.1), graph: graph)
    self.actions = actions.filter { !unread.contains($0.0) }
    self.weights = weights
    self.tileCache = tileCache
    let tiled = Self.tiledWeights(self.actions.map(\.1), graph: graph, precision: precision)
    tiledArguments = graph.arguments.enumerated().compactMap { index, value in
      tiled[value].map { (index, value, $0.n, $0.k) }
    }
    tiledConstants = Dictionary(
      uniqueKeysWithValues: tiled.compactMap { value, shape -> (ValueID, OwnedBytes)? in
        guard let constant = weights[value] else { return nil }
        let dtype = graph.type(of: value).dtype
        guard
          let tiles = try? OwnedBytes(
            count: QuantizedTiles.byteCount(n: shape.n, k: shape.k, dtype: dtype), buffer: "tiles", device: device)
        else { return nil }
        QuantizedTiles.repack(constant.pointer, n: shape.n, k: shape.k, dtype: dtype, into: tiles.pointer, pool: pool)
        return (value, tiles)
      })
    arenas = ArenaPool(bytes: plan.memory.arenaBytes, device: device, faults: faults)
  }

  /// The `n × k` weights (`B = transpose(dequantize(w))`) of quantized native matmuls whose dtype
  /// has a tiled kernel in `precision`.
  private static func tiledWeights(_ actions: [Action], graph: Graph, precision: QuantizedPrecision) -> [ValueID: (
    n: Int, k: Int
  )] {
    var result: [ValueID: (n: Int, k: Int)] = [:]
    for case .native(let matmul) in actions {
      if case .quantized(let dtype, transposed: true) = matmul.weights,
        QuantizedTiles.supports(dtype, precision: precision)
      {
        result[matmul.b] = (matmul.layout.n, matmul.layout.k)
      }
    }
    return result
  }

  /// The B matrices (dequantized weights, views of inputs) that only native matmuls reading B at
  /// its source read (and the graph does not return): nothing needs them materialised.
  private static func readOnlyByMatmulsAtSource(_ actions: [Action], graph: Graph) -> Set<ValueID> {
    var sourceReaders: [ValueID: Int] = [:]
    for case .native(let matmul) in actions {
      if matmul.readsBAtSource, matmul.a != matmul.bValue {
        sourceReaders[matmul.bValue, default: 0] += 1
      }
    }
    var readers: [ValueID: Int] = [:]
    for node in graph.nodes {
      for operand in Set(node.operands) where sourceReaders[operand] != nil { readers[operand, default: 0] += 1 }
    }
    let returned = Set(graph.results)
    return Set(sourceReaders.filter { readers[$0.key] == $0.value && !returned.contains($0.key) }.keys)
  }

  func execute(_ inputs: [Tensor]) throws(DeviceError) -> [Tensor] {
    try run(inputs, timed: false).results
  }

  /// Runs once and times each step on the host clock (the CPU is its own device).
  func executeProfiled(_ inputs: [Tensor]) throws(DeviceError) -> (results: [Tensor], kernels: [KernelTiming]) {
    try run(inputs, timed: true)
  }

  /// Runs with the inputs read where they are (the plan never writes an argument's buffer: in-place
  /// results only take over buffers the plan itself wrote), so weights are not copied per run.
  private func run(_ inputs: [Tensor], timed: Bool) throws(DeviceError) -> (results: [Tensor], kernels: [KernelTiming])
  {
    var tiles = tiledConstants.mapValues { UnsafeRawPointer($0.pointer) }
    var held: [OwnedBytes] = []
    for entry in tiledArguments {
      guard let bytes = tileCache.tiles(of: inputs[entry.argument], n: entry.n, k: entry.k, pool: pool) else {
        continue
      }
      held.append(bytes)
      tiles[entry.value] = UnsafeRawPointer(bytes.pointer)
    }
    var addresses: [UnsafeRawPointer] = []
    addresses.reserveCapacity(inputs.count)
    let outcome = Self.withBytes(of: inputs, collecting: &addresses) { addresses in
      Result { () throws(DeviceError) in try run(inputs: addresses, tiles: tiles, timed: timed) }
    }
    return try withExtendedLifetime(held) { () throws(DeviceError) in try outcome.get() }
  }

  /// Appends the address of each tensor's bytes from `index` on to `collected`, then calls `body`
  /// with them all; the addresses are valid for the call.
  private static func withBytes<R>(
    of tensors: [Tensor], from index: Int = 0, collecting collected: inout [UnsafeRawPointer],
    _ body: ([UnsafeRawPointer]) -> R
  ) -> R {
    guard index < tensors.count else { return body(collected) }
    return tensors[index].withUnsafeBytes { raw in
      collected.append(raw.baseAddress ?? UnsafeRawPointer(emptyInput.pointer))
      return withBytes(of: tensors, from: index + 1, collecting: &collected, body)
    }
  }

  /// Where an input of no bytes points (nothing reads it).
  private static let emptyInput = OwnedBytes([0])

  private func run(inputs: [UnsafeRawPointer], tiles: [ValueID: UnsafeRawPointer], timed: Bool) throws(DeviceError)
    -> (
      results: [Tensor], kernels: [KernelTiming]
    )
  {
    let graph = plan.graph, memory = plan.memory
    let arena = try arenas.take()
    defer { arenas.give(arena) }
    var fixed = weights.mapValues(\.pointer)
    for (argument, input) in zip(graph.arguments, inputs) { fixed[argument] = UnsafeMutableRawPointer(mutating: input) }
    func pointer(_ value: ValueID) -> UnsafeMutableRawPointer {
      let storage = memory.storage(of: value)
      if let address = fixed[storage] { return address }
      guard case .arena(let offset)? = memory.homes[storage] else { preconditionFailure("no home for \(value)") }
      return arena.pointer + offset
    }
    var timings: [KernelTiming] = []
    for (root, action) in actions {
      let start = timed ? ContinuousClock.now : nil
      switch action {
      case .native(let matmul):
        matmul.run(output: pointer(root), pointer: pointer, tiles: tiles[matmul.b], precision: precision, pool: pool)
      case .rows(let kernel):
        kernel.run(output: pointer(root), pointer: pointer, pool: pool)
      case .strided(let kernel):
        kernel.run(output: pointer(root), pointer: pointer, pool: pool)
      case .vector(let kernel, let call):
        let bindings = zip(call.buffers, call.kernel.buffers).map { value, parameter in
          KernelBufferBinding(pointer: pointer(value), count: graph.type(of: value).shape.count, dtype: parameter.dtype)
        }
        try kernel.run(buffers: bindings, scalars: call.scalars, pool: pool)
      }
      if let start {
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        timings.append(KernelTiming(kernel: name(of: action, root: root), seconds: seconds))
      }
    }
    let results = graph.results.map { value in
      let type = graph.type(of: value)
      let bytes = UnsafeRawBufferPointer(start: pointer(value), count: type.storageBytes ?? 0)
      return Tensor(type: type, bytes: Array(bytes))!
    }
    return (results, timings)
  }

  /// What a profile calls a step: the native path it took, or its kernel's name.
  private func name(of action: Action, root: ValueID) -> String {
    switch action {
    case .native(let matmul): "native matmul (\(matmul.weights)) → %\(plan.graph[root].name)"
    case .rows(let kernel): "native \(kernel.operation) → %\(plan.graph[root].name)"
    case .strided(let kernel): "native strided \(kernel.operation) → %\(plan.graph[root].name)"
    case .vector(_, let call): "kernel \(call.kernel.name) → %\(plan.graph[root].name)"
    }
  }
}
