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
}
