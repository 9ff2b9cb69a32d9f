import Tessera

/// One result of a device compared with the reference evaluator.
public struct ParityCheck: Sendable {
  /// The device's result and the reference's.
  public var actual: Tensor, expected: Tensor
  /// `toleranceRatio` of the two (at most 1 passes).
  public var ratio: Double

  /// Same type and within tolerance.
  public var passes: Bool { actual.type == expected.type && ratio <= 1 }

  /// Both results' first values, for failure messages.
  public var detail: String { "\(actual.type) \(actual.preview()) vs reference \(expected.type) \(expected.preview())" }
}

extension TestSupport {
  /// Seeded inputs for an op example: integers in `0..<2`, so indices and positions stay in range.
  public static func exampleInputs(_ graph: Graph, seed: UInt64 = 5) -> [Tensor] {
    var generator = SeededRandom(seed: seed)
    return graph.argumentTypes.map { Tensor.random($0, integerBound: 2, using: &generator) }
  }

  /// The op examples' tolerance per result dtype (rtol is ten times this): f16 and bf16 results
  /// are rounded to 11 or 8 significant bits after every op.
  public static func exampleTolerance(_ dtype: DType) -> Double {
    dtype == .f16 || dtype == .bf16 ? 2e-3 : 2e-5
  }

  /// Runs `graph` on `device` and on the reference evaluator; one check per result, with absolute
  /// tolerance `atol(dtype)` and relative tolerance `rtol(dtype)`.
  public static func parity(
    _ device: any Device, _ graph: Graph, _ inputs: [Tensor], atol: (DType) -> Double = exampleTolerance,
    rtol: ((DType) -> Double)? = nil
  ) throws -> [ParityCheck] {
    let expected = try evaluate(graph, inputs)
    let actual = try device.compile(graph).run(inputs: inputs)
    return zip(actual, expected).map { a, e in
      let absolute = atol(e.dtype)
      let relative = rtol?(e.dtype) ?? absolute * 10
      return ParityCheck(actual: a, expected: e, ratio: toleranceRatio(a, e, atol: absolute, rtol: relative))
    }
  }

  /// `parity` with the random-graph tolerance (atol 1e-4, rtol 1e-3) for graph `seed` of
  /// `RandomGraphGenerator(seed:).makeGraph(operations:)`; returns the graph too for messages.
  public static func randomGraphParity(_ device: any Device, seed: UInt64, operations: Int) throws -> (
    Graph, [ParityCheck]
  ) {
    var generator = RandomGraphGenerator(seed: seed)
    let graph = try generator.makeGraph(operations: operations)
    return (graph, try parity(device, graph, generator.inputs(for: graph), atol: { _ in 1e-4 }, rtol: { _ in 1e-3 }))
  }
}
