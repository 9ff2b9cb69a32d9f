import TesseraCompiler
import TesseraIR

/// Folds constants with ``ReferenceEvaluator``, so that folded values are exactly what the
/// oracle computes at run time.
public struct ReferenceConstantEvaluator: ConstantEvaluator {
  /// Creates the evaluator.
  public init() {}

  /// The reference results of `graph`, or `nil` when evaluation fails (an index out of range).
  public func evaluate(_ graph: Graph, inputs: [Tensor]) -> [Tensor]? {
    try? ReferenceEvaluator.evaluate(graph, inputs: inputs)
  }
}
