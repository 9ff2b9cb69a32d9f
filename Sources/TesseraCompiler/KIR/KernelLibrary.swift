import TesseraIR

/// One scheduled kernel launch: the kernel, the graph values bound to its buffers (in the
/// kernel's buffer order) and the values of its runtime scalars.
public struct KernelCall: Hashable, Sendable {
  /// The kernel.
  public var kernel: Kernel
  /// Graph values bound to ``Kernel/buffers``, in order (operands and results alike; which are
  /// written follows each buffer's access).
  public var buffers: [ValueID]
  /// Values of ``Kernel/scalars`` by name.
  public var scalars: [String: Double]

  /// Creates a call.
  public init(kernel: Kernel, buffers: [ValueID], scalars: [String: Double]) {
    self.kernel = kernel
    self.buffers = buffers
    self.scalars = scalars
  }

  /// The graph values the kernel only reads.
  public var reads: [ValueID] { zip(kernel.buffers, buffers).filter { $0.0.access == .read }.map(\.1) }

  /// The graph values the kernel writes.
  public var writes: [ValueID] { zip(kernel.buffers, buffers).filter { $0.0.access != .read }.map(\.1) }
}

/// Hand-written kernels for graph ops (matmul, softmax, norms, attention…), provided by the
/// TesseraKernels module; the lowering asks it first and generates a kernel itself otherwise.
public protocol KernelLibrary: Sendable {
  /// A call computing `node` of `graph` (reading its operands, writing its result), or `nil`
  /// when the library has no kernel for this node's op, dtypes or shapes.
  func call(for node: Node, in graph: Graph) -> KernelCall?
}
