import TesseraCPU
import TesseraCompiler
import TesseraIR
import TesseraTestSupport
import Testing

/// Random graphs run on the reference evaluator before and after optimisation must agree.
@Suite("Differential: random graphs before and after the passes")
struct DifferentialTests {
  private static let seeds: Range<UInt64> = 0..<1000

  private static let pipelines: [(String, [any GraphPass])] = [
    ("standard", PassPipeline.standard(evaluator: ReferenceConstantEvaluator())),
    ("decompose + standard", [DecomposeComposites()] + PassPipeline.standard(evaluator: ReferenceConstantEvaluator())),
  ]

  @Test func optimisedGraphsComputeTheSameValues() throws {
    var changedBy: [String: Int] = [:]
    for seed in Self.seeds {
      var generator = RandomGraphGenerator(seed: seed)
      let graph: Graph
      do {
        graph = try generator.makeGraph()
      } catch {
        Issue.record("seed \(seed): the generator built an invalid graph: \(error)")
        continue
      }
      let inputs = generator.inputs(for: graph)
      let expected = try TestSupport.evaluate(graph, inputs)
      for (label, passes) in Self.pipelines {
        var previous = DeadCodeElimination().run(graph)  // every rewriting pass also drops dead nodes
        let optimised: Graph
        do {
          optimised = try PassManager(passes).run(graph) { name, after in
            if after != previous { changedBy[name, default: 0] += 1 }
            previous = after
          }
        } catch {
          Issue.record("seed \(seed), \(label): \(error)\n\(graph)")
          continue
        }
        let actual = try TestSupport.evaluate(optimised, inputs)
        for (index, (value, reference)) in zip(actual, expected).enumerated() {
          let ratio = TestSupport.toleranceRatio(value, reference, atol: 1e-4, rtol: 1e-3)
          #expect(
            value.type == reference.type && ratio <= 1,
            "seed \(seed), \(label), result \(index): tolerance ratio \(ratio)\n\(graph)\noptimised:\n\(optimised)")
        }
      }
    }
    // The graphs exercise every pass, or this test would prove little (`dce` finds nothing left:
    // the rewriting passes already drop what they leave dead).
    for name in ["decompose", "canonicalize", "simplify", "constant-fold", "cse"] {
      #expect(changedBy[name, default: 0] >= 10, "\(name) changed only \(changedBy[name, default: 0]) graphs")
    }
  }
}
