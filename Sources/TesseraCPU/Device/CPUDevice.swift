import Foundation
import TesseraCompiler
import TesseraIR
import TesseraRuntime

/// The `cpu` device: plans from ``GraphCompiler`` for a target that runs every op, matmul groups
/// on the packed SIMD SGEMM (or, when B is a dequantized GGUF weight, on ``QuantizedMatmul``
/// reading the quantized bytes), single softmax / rms_norm / rope library groups on
/// ``RowKernels``, movement / select / f32 arithmetic groups through strided views, and everything
/// else on the vectorised KIR executor, spread over the thread pool.
public final class CPUDevice: Device {
  /// Always available.
  public let info: DeviceInfo
  /// How matmuls against quantized weights treat activations: ``QuantizedPrecision/f32Activations``
  /// (the shared numerics contract) unless the opt-in ``QuantizedPrecision/int8Activations`` mode
  /// was asked for. It applies to `x · transpose(dequantize(w))`, whose blocks run along the
  /// contraction; `x · dequantize(w)` always uses f32 activations.
  public let quantizedPrecision: QuantizedPrecision
  /// The device itself: device tensors are host memory (see ``CPUMemory``).
  public var store: any TensorStore { self }
  /// Whether results must not depend on the thread count (``Determinism``): routes are chosen
  /// without regard to it.
  public let deterministic: Bool
  private let options: CompileOptions
  let pool: CPUThreadPool
  let faults: FaultInjection
  /// What the device's memory holds: ``TensorStore/allocatedBytes``.
  let allocations = AllocationCounter()

  /// Creates the device; `library` supplies hand-written kernels (without one, composites are
  /// decomposed into core ops), `pool` the threads, `quantizedPrecision` the named precision mode
  /// of quantized matmuls, `deterministic` whether results may depend on the thread count
  /// (``Determinism``; by default as `TESSERA_DETERMINISTIC` says); `faults` are injected (none by
  /// default).
  public init(
    library: (any KernelLibrary)? = nil, pool: CPUThreadPool = .shared,
    quantizedPrecision: QuantizedPrecision = .f32Activations,
    deterministic: Bool = Determinism.requested() == true,
    faults: FaultInjection = FaultInjection()
  ) {
    options = CompileOptions(
      passes: PassPipeline.standard(evaluator: ReferenceConstantEvaluator()), library: library, fallback: "cpu")
    self.pool = pool
    self.quantizedPrecision = quantizedPrecision
    self.deterministic = deterministic
    self.faults = faults
    let mode =
      (quantizedPrecision == .f32Activations ? "" : ", quantized matmuls with \(quantizedPrecision.rawValue)")
      + (deterministic ? ", deterministic" : "")
    info = DeviceInfo(
      name: "cpu", kind: .cpu,
      summary: "native SIMD kernels and vectorised KIR, \(pool.threads) thread\(pool.threads == 1 ? "" : "s")\(mode)",
      driver: "built in", availability: .available)
  }

  /// Allocations only: the constants at compile time and an arena at a run (arenas are kept for
  /// later runs; inputs are read in place). It builds no kernel and submits nothing.
  public var injectableFaults: Set<FaultKind> { [.alloc] }

  /// Compiles with the standard passes for a target that runs everything; runs go through
  /// ``PlanRunner`` on a ``CPUPlanBackend``.
  public func compile(_ graph: Graph) throws(DeviceError) -> CompiledGraph {
    CompiledGraph(graph: graph, deviceName: info.name, executable: try runner(for: graph))
  }

  /// How each step of `graph`'s plan runs, skipped steps left out (for tests of the routes).
  func routes(for graph: Graph) throws(DeviceError) -> [CPUPlanBackend.Action] {
    let (plan, backend) = try planned(graph)
    return try backend.prepare(plan).compactMap { preparation in
      if case .device(let action) = preparation { return action as? CPUPlanBackend.Action }
      return nil
    }
  }

  /// The plan of `graph` and its runner.
  func runner(for graph: Graph) throws(DeviceError) -> PlanRunner {
    let (plan, backend) = try planned(graph)
    return try PlanRunner(plan: plan, backend: backend)
  }

  /// The plan of `graph` and the backend that runs its steps.
  private func planned(_ graph: Graph) throws(DeviceError) -> (CompiledPlan, CPUPlanBackend) {
    let plan: CompiledPlan
    do {
      plan = try GraphCompiler.compile(graph, target: CPUDevice.capabilities, options: options)
    } catch {
      throw .compileFailed(device: info.name, message: error.description)
    }
    return (plan, CPUPlanBackend(device: self, pool: pool, precision: quantizedPrecision, graph: plan.graph))
  }
}

extension CPUDevice {
  /// Every op and dtype, with `conv2d` and pooling kept whole for the native kernels, and a
  /// pointwise convolution's input scaled per channel as it is packed
  /// (``TargetCapabilities/scalesConvolutionInputs``).
  static let capabilities: TargetCapabilities = {
    var capabilities = TargetCapabilities.everything("cpu", windowKernels: [.conv2d, .maxPool2d, .avgPool2d])
    capabilities.scalesConvolutionInputs = true
    return capabilities
  }()

  /// The `cpu` target of `tessera compile`: every op; no artifacts beyond the common ones.
  public static let compileTarget = CompileTarget(capabilities: CPUDevice.capabilities)
}

/// Runs kernel launches on the vectorised KIR executor: the host fallback other devices use for
/// the plan steps they cannot run.
public struct CPUKernelRunner: HostKernelRunner {
  private let pool: CPUThreadPool

  /// Creates the runner on `pool`.
  public init(pool: CPUThreadPool = .shared) { self.pool = pool }

  /// Runs `call`; returns every buffer afterwards (written ones updated).
  public func run(_ call: KernelCall, buffers: [Tensor]) throws(DeviceError) -> [Tensor] {
    guard buffers.count == call.kernel.buffers.count else {
      throw .kernelFailed(
        kernel: call.kernel.name, message: "\(buffers.count) buffers given, it takes \(call.kernel.buffers.count)")
    }
    for (parameter, tensor) in zip(call.kernel.buffers, buffers) where parameter.dtype != tensor.dtype {
      throw .kernelFailed(
        kernel: call.kernel.name, message: "buffer \(parameter.name) is \(parameter.dtype), given \(tensor.dtype)")
    }
    // Buffers the kernel writes get bytes of their own; the others are read in place.
    var storage: [OwnedBytes?] = []
    for (parameter, tensor) in zip(call.kernel.buffers, buffers) {
      guard parameter.access != .read || (tensor.type.storageBytes ?? 0) == 0 else {
        storage.append(nil)
        continue
      }
      let bytes = try OwnedBytes(count: tensor.bytes.count, buffer: parameter.name, device: "cpu", counter: nil)
      bytes.copy(tensor.bytes)
      storage.append(bytes)
    }
    try bind(0, buffers, storage, []) { bindings throws(DeviceError) in
      try VectorKernel(call.kernel).run(buffers: bindings, scalars: call.scalars, pool: pool)
    }
    return zip(storage, buffers).map { bytes, tensor in
      guard let bytes else { return tensor }
      return Tensor(
        type: tensor.type, bytes: Array(UnsafeRawBufferPointer(start: bytes.pointer, count: tensor.bytes.count)))!
    }
  }

  /// Calls `body` with a binding for every buffer from `index` on appended to `bound`: its own
  /// bytes where `storage` has them, else the tensor's bytes in place.
  private func bind(
    _ index: Int, _ buffers: [Tensor], _ storage: [OwnedBytes?], _ bound: [KernelBufferBinding],
    _ body: ([KernelBufferBinding]) throws(DeviceError) -> Void
  ) throws(DeviceError) {
    guard index < buffers.count else { return try body(bound) }
    let tensor = buffers[index]
    if let owned = storage[index] {
      let binding = KernelBufferBinding(pointer: owned.pointer, count: tensor.shape.count, dtype: tensor.dtype)
      return try bind(index + 1, buffers, storage, bound + [binding], body)
    }
    try tensor.withUnsafeBytes { bytes throws(DeviceError) in
      let binding = KernelBufferBinding(
        pointer: UnsafeMutableRawPointer(mutating: bytes.baseAddress!), count: tensor.shape.count, dtype: tensor.dtype)
      try bind(index + 1, buffers, storage, bound + [binding], body)
    }
  }
}

/// Lists the `cpu` device, in the quantized-matmul precision that `TESSERA_CPU_PRECISION` names
/// (`f32-activations`, the default, or the opt-in `int8-activations`).
public struct CPUProvider: DeviceProvider {
  /// Every device it lists is `cpu`.
  public var kind: DeviceKind? { .cpu }
  /// The environment variable that selects ``CPUDevice/quantizedPrecision``.
  public static let precisionVariable = "TESSERA_CPU_PRECISION"
  private let library: (any KernelLibrary)?
  private let faults: FaultInjection
  private let environment: [String: String]
  /// Creates the provider; the device will use `library`, inject `faults` (none by default) and
  /// read its precision, its thread count (`TESSERA_THREADS`) and deterministic mode
  /// (`TESSERA_DETERMINISTIC`) from `environment`.
  public init(
    library: (any KernelLibrary)? = nil, faults: FaultInjection = FaultInjection(),
    environment: [String: String] = ProcessInfo.processInfo.environment
  ) {
    self.library = library
    self.faults = faults
    self.environment = environment
  }
  /// One entry: `cpu`; unavailable, with the reason, when `TESSERA_CPU_PRECISION` names no mode.
  public func discover() -> [DeviceEntry] {
    let text = environment[Self.precisionVariable] ?? QuantizedPrecision.f32Activations.rawValue
    guard let precision = QuantizedPrecision(rawValue: text) else {
      let modes = QuantizedPrecision.allCases.map(\.rawValue).joined(separator: " or ")
      return [
        DeviceEntry(
          unavailable: DeviceInfo(
            name: "cpu", kind: .cpu, summary: "-", driver: "built in",
            availability: .unavailable(reason: "\(Self.precisionVariable)='\(text)' is not \(modes)")))
      ]
    }
    guard let deterministic = Determinism.requested(in: environment) else {
      return [
        DeviceEntry(
          unavailable: DeviceInfo(
            name: "cpu", kind: .cpu, summary: "-", driver: "built in",
            availability: .unavailable(reason: Determinism.problem(in: environment)!)))
      ]
    }
    let pool = CPUThreadPool(threads: CPUThreadPool.defaultThreadCount(environment: environment))
    return [
      DeviceEntry(
        device: CPUDevice(
          library: library, pool: pool, quantizedPrecision: precision, deterministic: deterministic, faults: faults))
    ]
  }
}
