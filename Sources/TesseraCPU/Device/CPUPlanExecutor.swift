import TesseraCompiler
import TesseraIR
import TesseraRuntime

/// Executes a compiled plan on the CPU: one arena allocation per run, weights copied once at
/// compile time, matmul groups on the native SGEMM or quantized matmul (with their epilogue),
/// single softmax / rms_norm / rope library groups on ``RowKernels``, every other kernel on its
/// ``VectorKernel`` program, built once here. A `dequantize` group read only by quantized native
/// matmuls is skipped: they read the quantized weight directly. Every buffer it allocates (weights,
/// inputs, the arena) fails with ``DeviceError/allocationFailed(device:buffer:bytes:message:)``
/// when the allocator does, or when an injected `alloc` fault hits it.
final class CPUPlanExecutor: GraphExecutable {
  /// How one step runs.
  enum Action: Sendable {
    case native(NativeMatmul)
    case rows(NativeRowKernel)
    case vector(VectorKernel, KernelCall)
  }

  let plan: CompiledPlan
  let pool: CPUThreadPool
  let precision: QuantizedPrecision
  let actions: [(root: ValueID, action: Action)]
  private let weights: [ValueID: OwnedBytes]
  private let device: String
  private let faults: FaultInjection

  init(
    plan: CompiledPlan, pool: CPUThreadPool, precision: QuantizedPrecision, device: String, faults: FaultInjection
  ) throws(DeviceError) {
    self.plan = plan
    self.pool = pool
    self.precision = precision
    self.device = device
    self.faults = faults
    let graph = plan.graph, producers = graph.definingNode
    var weights: [ValueID: OwnedBytes] = [:]
    var actions: [(ValueID, Action)] = []
    for step in plan.steps {
      if step.group.kind == .constant, let literal = graph.nodes[step.group.nodes[0]].literal {
        weights[step.group.root] = try Self.allocate(
          "%" + graph[step.group.root].name, literal.bytes, device: device, faults: faults)
      }
      guard let call = step.call else { continue }
      if step.group.kind == .matmul, let native = NativeMatmul(step.group, in: graph, producers: producers) {
        actions.append((step.group.root, .native(native)))
      } else if let rows = NativeRowKernel(step.group, in: graph) {
        actions.append((step.group.root, .rows(rows)))
      } else {
        actions.append((step.group.root, .vector(VectorKernel(call.kernel), call)))
      }
    }
    let unread = Self.readOnlyByQuantizedMatmuls(actions.map(\.1), graph: graph)
    self.actions = actions.filter { !unread.contains($0.0) }
    self.weights = weights
  }

  /// The dequantized matrices that only quantized native matmuls read (and the graph does not
  /// return): nothing needs them materialised.
  private static func readOnlyByQuantizedMatmuls(_ actions: [Action], graph: Graph) -> Set<ValueID> {
    var quantizedReaders: [ValueID: Int] = [:]
    for case .native(let matmul) in actions {
      if case .quantized = matmul.weights, matmul.a != matmul.bValue {
        quantizedReaders[matmul.bValue, default: 0] += 1
      }
    }
    var readers: [ValueID: Int] = [:]
    for node in graph.nodes {
      for operand in Set(node.operands) where quantizedReaders[operand] != nil { readers[operand, default: 0] += 1 }
    }
    let returned = Set(graph.results)
    return Set(quantizedReaders.filter { readers[$0.key] == $0.value && !returned.contains($0.key) }.keys)
  }

  /// A copy of `bytes` (zeros when `nil`: `count` of them) for the buffer called `name`.
  private static func allocate(
    _ name: String, _ bytes: [UInt8]? = nil, count: Int = 0, device: String, faults: FaultInjection
  ) throws(DeviceError) -> OwnedBytes {
    let hit = faults.hit(.alloc, device: device, targets: [name])
    let owned = try OwnedBytes(count: bytes?.count ?? count, buffer: name, device: device, injected: hit)
    if let bytes { owned.copy(bytes) }
    return owned
  }

  func execute(_ inputs: [Tensor]) throws(DeviceError) -> [Tensor] {
    let graph = plan.graph, memory = plan.memory
    var fixed = weights
    for (argument, input) in zip(graph.arguments, inputs) {
      fixed[argument] = try Self.allocate("%" + graph[argument].name, input.bytes, device: device, faults: faults)
    }
    let arena = try Self.allocate("the arena", count: memory.arenaBytes, device: device, faults: faults)
    func pointer(_ value: ValueID) -> UnsafeMutableRawPointer {
      let storage = memory.storage(of: value)
      if let bytes = fixed[storage] { return bytes.pointer }
      guard case .arena(let offset)? = memory.homes[storage] else { preconditionFailure("no home for \(value)") }
      return arena.pointer + offset
    }
    for (root, action) in actions {
      switch action {
      case .native(let matmul):
        matmul.run(output: pointer(root), pointer: pointer, precision: precision, pool: pool)
      case .rows(let kernel):
        kernel.run(output: pointer(root), pointer: pointer, pool: pool)
      case .vector(let kernel, let call):
        let bindings = zip(call.buffers, call.kernel.buffers).map { value, parameter in
          KernelBufferBinding(pointer: pointer(value), count: graph.type(of: value).shape.count, dtype: parameter.dtype)
        }
        try kernel.run(buffers: bindings, scalars: call.scalars, pool: pool)
      }
    }
    return graph.results.map { value in
      let type = graph.type(of: value)
      let bytes = UnsafeRawBufferPointer(start: pointer(value), count: type.storageBytes ?? 0)
      return Tensor(type: type, bytes: Array(bytes))!
    }
  }
}
