import TesseraCPU
import TesseraIR
import TesseraRuntime
import TesseraTestSupport
import Testing

/// A compiled graph keeps its steps encoded (each kernel bound to the memory of every value it
/// reads and writes) between runs while that memory stays the same: every run must still compute
/// from its own inputs, none from an earlier run's values.
@Suite("Runs of one compiled cpu graph")
struct CPURerunTests {
  @Test("each run of a kept encoding gives its own inputs' result", arguments: threadCounts)
  func rerunsWithOtherInputs(threads: Int) throws {
    let graph = try TransformerGraph.make(layers: 2, sequence: 7, width: 32, heads: 2, hidden: 40)
    let compiled = try CPUDevice(pool: CPUThreadPool(threads: threads)).compile(graph)
    var previous: Tensor?
    for seed: UInt64 in [21, 22, 21] {
      let inputs = TransformerGraph.inputs(for: graph, sequence: 7, seed: seed)
      let expected = try TestSupport.evaluate(graph, inputs)[0]
      let actual = try compiled.run(inputs: inputs)[0]
      #expect(TestSupport.toleranceRatio(actual, expected, atol: 1e-4, rtol: 1e-3) <= 1, "seed \(seed)")
      if let previous { #expect(previous != expected, "seeds 21 and 22 must give different results") }
      previous = expected
    }
  }

  /// Host inputs of at least ``PlanRunner/smallestBorrowed`` bytes are read where they lie, so
  /// each new tensor is new memory: the kept encoding is rebound to it (``CPUEncodedSteps``),
  /// and every run must read its own tensors, also when an earlier run's tensors are gone.
  @Test("each run reads its own borrowed host inputs", arguments: threadCounts)
  func rerunsWithNewBorrowedInputs(threads: Int) throws {
    let type = "f32[1,8,48,48]"
    let weights = (0..<(8 * 8 * 9)).map { "\(Double(($0 * 5) % 7) / 2 - 1.5)" }.joined(separator: ", ")
    let graph = try TestSupport.parseOne(
      """
      func @f(%x: \(type), %r: \(type)) -> \(type) {
        %w = constant [\(weights)] : f32[8,8,3,3]
        %c = conv2d %x, %w {dilations = [1, 1], groups = 1, pads = [1, 1, 1, 1], strides = [1, 1]} : \(type)
        %s = add %c, %r : \(type)
        %y = relu %s : \(type)
        return %y
      }
      """)
    #expect(8 * 48 * 48 * 4 >= PlanRunner.smallestBorrowed)
    let compiled = try CPUDevice(pool: CPUThreadPool(threads: threads)).compile(graph)
    var generator = SeededRandom(seed: 41)
    var previous: Tensor?
    for run in 0..<3 {
      let inputs = graph.argumentTypes.map { Tensor.random($0, integerBound: 5, using: &generator) }
      let expected = try TestSupport.evaluate(graph, inputs)[0]
      let actual = try compiled.run(inputs: inputs)[0]
      #expect(TestSupport.toleranceRatio(actual, expected, atol: 1e-4, rtol: 1e-5) <= 1, "run \(run)")
      if let previous { #expect(previous != expected, "each run's inputs must give another result") }
      previous = expected
    }
  }
}
