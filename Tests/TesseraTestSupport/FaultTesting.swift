import Tessera

/// What the fault-injection tests run: a graph with several kernels, a constant weight (`%b`),
/// two arguments (`%x`, `%w`) and an arena, and seeded inputs.
public enum FaultTesting {
  /// `softmax(silu(x · w + b))` and `silu(x · w + b)`, as `.tir` text.
  public static let text = """
    func @faulty(%x: f32[4,8], %w: f32[8,6]) -> (f32[4,6], f32[4,6]) {
      %h = matmul %x, %w : f32[4,6]
      %b = constant [0.5, -1.0, 2.0, 0.25, 0.0, 1.5] : f32[6]
      %y = add %h, %b : f32[4,6]
      %z = silu %y : f32[4,6]
      %s = softmax %z {axis = -1} : f32[4,6]
      return %s, %z
    }
    """

  /// ``text`` parsed.
  public static let graph: Graph = try! TestSupport.parseOne(text)

  /// Seeded inputs in argument order.
  public static let inputs: [Tensor] = TestSupport.exampleInputs(graph, seed: 23)

  /// Whether `results` are the reference evaluator's, within f32 tolerance.
  public static func matchReference(_ results: [Tensor]) throws -> Bool {
    let expected = try TestSupport.evaluate(graph, inputs)
    return results.count == expected.count
      && zip(results, expected).allSatisfy {
        $0.type == $1.type && TestSupport.toleranceRatio($0, $1, atol: 2e-5, rtol: 2e-4) <= 1
      }
  }
}
