import TesseraIR
import TesseraRuntime

/// A graph of identical layers `y = silu(y · wᵢ + bᵢ)`, each with its own weights, then a
/// softmax: the shape of a model's repeated blocks, whose kernels differ from layer to layer
/// only in their names. For tests of one build per distinct kernel.
public enum RepeatedLayers {
  /// The graph with `layers` layers (at least 1), as `.tir` text.
  public static func text(layers: Int) -> String {
    let parameters = ["%x: f32[4,8]"] + (0..<layers).flatMap { ["%w\($0): f32[8,8]", "%b\($0): f32[8]"] }
    var lines = ["func @layers\(layers)(\(parameters.joined(separator: ", "))) -> f32[4,8] {"]
    for layer in 0..<layers {
      let input = layer == 0 ? "%x" : "%y\(layer - 1)"
      lines += [
        "  %h\(layer) = matmul \(input), %w\(layer) : f32[4,8]",
        "  %a\(layer) = add %h\(layer), %b\(layer) : f32[4,8]",
        "  %y\(layer) = silu %a\(layer) : f32[4,8]",
      ]
    }
    lines += ["  %s = softmax %y\(layers - 1) {axis = -1} : f32[4,8]", "  return %s", "}"]
    return lines.joined(separator: "\n")
  }

  /// ``text(layers:)`` parsed.
  public static func graph(layers: Int) throws -> Graph { try TestSupport.parseOne(text(layers: layers)) }

  /// Seeded inputs for `graph`, in argument order.
  public static func inputs(_ graph: Graph) -> [Tensor] { TestSupport.exampleInputs(graph, seed: 41) }

  /// Whether `results` are the reference evaluator's for `graph` and `inputs`, within f32
  /// tolerance.
  public static func matchReference(_ graph: Graph, _ inputs: [Tensor], _ results: [Tensor]) throws -> Bool {
    let expected = try TestSupport.evaluate(graph, inputs)
    return results.count == expected.count
      && zip(results, expected).allSatisfy {
        $0.type == $1.type && TestSupport.toleranceRatio($0, $1, atol: 2e-5, rtol: 2e-4) <= 1
      }
  }
}
