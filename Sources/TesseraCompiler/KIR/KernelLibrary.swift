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
///
/// The graph compiler asks once per node *signature* (kind, attributes, literal, the types of
/// the operands and the result, and which operands are the same value) and reuses the answer
/// for every node with that signature, binding the node's own operands and result to the
/// call's buffers: a transformer stack then builds each matmul kernel once, not once per layer.
/// A library whose answer depends on anything else in the graph returns `false` from
/// ``callsDependOnlyOnSignature``.
public protocol KernelLibrary: Sendable {
  /// A call computing `node` of `graph` (reading its operands, writing its result), or `nil`
  /// when the library has no kernel for this node's op, dtypes or shapes.
  func call(for node: Node, in graph: Graph) -> KernelCall?

  /// Whether ``call(for:in:)`` depends only on the node's signature and binds only the node's
  /// operands and result, so that one call can serve every node with the same signature.
  var callsDependOnlyOnSignature: Bool { get }

  /// The library as it serves `target` (its kernels shaped for the target's preferences, such as
  /// ``TargetCapabilities/reductionLanes``); the compiler asks once per compilation.
  func adapted(to target: TargetCapabilities) -> any KernelLibrary
}

extension KernelLibrary {
  /// `true`: calls depend on the node's op, attributes, literal and types only.
  public var callsDependOnlyOnSignature: Bool { true }

  /// The library unchanged.
  public func adapted(to target: TargetCapabilities) -> any KernelLibrary { self }
}

/// The library calls of one compilation, asked once per node signature when the library allows
/// it (see ``KernelLibrary``) and rebound to each node's operands and result.
struct LibraryCalls {
  let library: any KernelLibrary
  private var known: [Signature: Known] = [:]

  /// Everything a signature-only library's call depends on. `aliasing` gives, for each of the
  /// operands and the result, the position of its first occurrence among them, so `mul %x, %x`
  /// and `mul %x, %y` differ.
  private struct Signature: Hashable {
    var kind: OpKind
    var attributes: Attributes
    var literal: Tensor?
    var types: [TensorType]
    var aliasing: [Int]
  }

  /// A call made for one node: its buffers as positions among that node's operands and result
  /// (`nil` when a buffer is none of them, and the call cannot be reused).
  private struct Known {
    var call: KernelCall?
    var positions: [Int]?
  }

  init(library: any KernelLibrary) { self.library = library }

  /// The library's call for `node`, from an earlier node with the same signature when possible.
  mutating func call(for node: Node, in graph: Graph) -> KernelCall? {
    guard library.callsDependOnlyOnSignature else { return library.call(for: node, in: graph) }
    let values = node.operands + [node.result]
    let signature = Signature(
      kind: node.kind, attributes: node.attributes, literal: node.literal, types: values.map(graph.type(of:)),
      aliasing: values.map { values.firstIndex(of: $0)! })
    if let earlier = known[signature] {
      guard var call = earlier.call else { return nil }
      if let positions = earlier.positions {
        call.buffers = positions.map { values[$0] }
        return call
      }
    }
    let call = library.call(for: node, in: graph)
    var positions: [Int]? = []
    for buffer in call?.buffers ?? [] {
      guard let position = values.firstIndex(of: buffer) else {
        positions = nil
        break
      }
      positions?.append(position)
    }
    known[signature] = Known(call: call, positions: positions)
    return call
  }
}
