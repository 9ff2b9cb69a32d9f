import TesseraCompiler
import TesseraIR

/// Runs one kernel launch on the host: how a device runs the plan steps it cannot (the
/// partitioner's fallback), without importing another backend. The umbrella module passes each
/// device the CPU's runner.
public protocol HostKernelRunner: Sendable {
  /// Runs `call` with `buffers` in the kernel's buffer order; returns every buffer afterwards
  /// (written ones updated).
  func run(_ call: KernelCall, buffers: [Tensor]) throws(DeviceError) -> [Tensor]
}
