/// Named lists of passes that callers run with ``PassManager``.
public enum PassPipeline {
  /// The target-independent cleanup: `canonicalize`, `simplify`, `constant-fold`, `cse`, `dce`.
  /// ``DecomposeComposites`` is not in it: which ops to decompose depends on the target, so a
  /// caller puts it in front (`[DecomposeComposites(kinds: …)] + standard(evaluator: …)`).
  public static func standard(evaluator: any ConstantEvaluator) -> [any GraphPass] {
    [
      Canonicalize(), AlgebraicSimplification(), ConstantFolding(evaluator: evaluator),
      CommonSubexpressionElimination(), DeadCodeElimination(),
    ]
  }
}
