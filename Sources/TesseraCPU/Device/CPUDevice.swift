import TesseraCompiler
import TesseraIR
import TesseraRuntime

/// The `cpu` device: plans from ``GraphCompiler`` for a target that runs every op, matmul groups
/// on the packed SIMD SGEMM and everything else on the vectorised KIR executor, spread over the
/// thread pool.
public final class CPUDevice: Device {
  /// Always available.
  public let info: DeviceInfo
  private let options: CompileOptions
  private let pool: CPUThreadPool

  /// Creates the device; `library` supplies hand-written kernels (without one, composites are
  /// decomposed into core ops), `pool` the threads.
  public init(library: (any KernelLibrary)? = nil, pool: CPUThreadPool = .shared) {
    options = CompileOptions(
      passes: PassPipeline.standard(evaluator: ReferenceConstantEvaluator()), library: library, fallback: "cpu")
    self.pool = pool
    info = DeviceInfo(
      name: "cpu", kind: .cpu,
      summary: "native SIMD kernels and vectorised KIR, \(pool.threads) thread\(pool.threads == 1 ? "" : "s")",
      driver: "built in", availability: .available)
  }

  /// Compiles with the standard passes for a target that runs everything.
  public func compile(_ graph: Graph) throws(DeviceError) -> CompiledGraph {
    let plan: CompiledPlan
    do {
      plan = try GraphCompiler.compile(graph, target: .everything("cpu"), options: options)
    } catch {
      throw .compileFailed(device: info.name, message: error.description)
    }
    return CompiledGraph(graph: graph, deviceName: info.name, executable: CPUPlanExecutor(plan: plan, pool: pool))
  }
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
    let storage = buffers.map { OwnedBytes($0.bytes) }
    let bindings = zip(storage, buffers).map {
      KernelBufferBinding(pointer: $0.pointer, count: $1.shape.count, dtype: $1.dtype)
    }
    try VectorKernel(call.kernel).run(buffers: bindings, scalars: call.scalars, pool: pool)
    return zip(storage, buffers).map { bytes, tensor in
      Tensor(type: tensor.type, bytes: Array(UnsafeRawBufferPointer(start: bytes.pointer, count: tensor.bytes.count)))!
    }
  }
}

/// Lists the `cpu` device.
public struct CPUProvider: DeviceProvider {
  private let library: (any KernelLibrary)?
  /// Creates the provider; the device will use `library`.
  public init(library: (any KernelLibrary)? = nil) { self.library = library }
  /// One entry: `cpu`, always available.
  public func discover() -> [DeviceEntry] { [DeviceEntry(device: CPUDevice(library: library))] }
}
