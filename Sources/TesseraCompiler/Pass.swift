import TesseraIR

/// A graph-to-graph transformation with a name, run by ``PassManager``.
public protocol GraphPass: Sendable {
  /// The name printed by `--print-after-all`, e.g. `dce`.
  var name: String { get }
  /// Returns the transformed graph; it must still verify.
  func run(_ graph: Graph) -> Graph
}

/// Runs passes in order, verifying after each (so a broken pass is caught at the pass that broke
/// the graph) and optionally reporting the graph after every pass, like MLIR's
/// `--print-ir-after-all`.
public struct PassManager: Sendable {
  /// The passes, in order.
  public var passes: [any GraphPass]

  /// Creates a pipeline.
  public init(_ passes: [any GraphPass]) { self.passes = passes }

  /// Runs the pipeline. `afterEach` receives each pass's name and result (for printing).
  public func run(_ graph: Graph, afterEach: ((String, Graph) -> Void)? = nil) throws(CompileError) -> Graph {
    var current = graph
    for pass in passes {
      current = CompileInstrumentation.phase("pass \(pass.name)") { pass.run(current) }
      do {
        try CompileInstrumentation.phase("verify") { () throws(IRError) in try Verifier.verify(current) }
      } catch {
        throw .passBrokeGraph(pass: pass.name, error: error)
      }
      afterEach?(pass.name, current)
    }
    return current
  }
}

/// Errors of the compiler module.
public enum CompileError: Error, Hashable, Sendable, CustomStringConvertible {
  /// A pass produced a graph that does not verify: a compiler bug, reported with the pass name.
  case passBrokeGraph(pass: String, error: IRError)
  /// No kernel exists for this op on the target (neither in the library nor generated).
  case noKernel(op: OpKind, detail: String)
  /// A generated kernel failed verification: a compiler bug, reported with the kernel.
  case invalidKernel(kernel: String, error: KIRError)

  /// A message naming the pass.
  public var description: String {
    switch self {
    case .passBrokeGraph(let pass, let error): "internal error: pass '\(pass)' produced an invalid graph: \(error)"
    case .noKernel(let op, let detail): "no kernel for '\(op)': \(detail)"
    case .invalidKernel(let kernel, let error): "internal error: generated kernel \(kernel) is invalid: \(error)"
    }
  }
}

/// Dead-code elimination: drops every node whose result no returned value depends on.
public struct DeadCodeElimination: GraphPass {
  /// `dce`.
  public let name = "dce"

  /// Creates the pass.
  public init() {}

  /// Keeps only the nodes that reach a result, in their original order.
  public func run(_ graph: Graph) -> Graph {
    var live = Set(graph.results)
    for node in graph.nodes.reversed() where live.contains(node.result) {
      live.formUnion(node.operands)
    }
    var result = graph
    result.nodes = graph.nodes.filter { live.contains($0.result) }
    return result
  }
}
