import TesseraCPU
import TesseraCompiler
import TesseraIR
import TesseraRuntime
import TesseraTestSupport
import Testing

@Suite("Fusion, memory planning and partitioning")
struct CompiledPlanTests {
  private func plan(_ text: String, target: TargetCapabilities = .everything("kir")) throws -> CompiledPlan {
    try GraphCompiler.compile(try TestSupport.parseOne(text), target: target)
  }

  private func kernelOps(_ plan: CompiledPlan) -> [[String]] {
    plan.steps.filter { $0.call != nil }.map { step in
      step.group.nodes.map { plan.graph[plan.graph.nodes[$0].result].name }
    }
  }

  @Test func elementwiseChainsFuseIntoOneKernel() throws {
    let plan = try plan(
      """
      func @f(%x: f32[8,4], %b: f32[4]) -> f32[8,4] {
        %t = transpose %x : f32[4,8]
        %u = transpose %t : f32[8,4]
        %s = add %u, %b : f32[8,4]
        %h = constant 0.5 : f32[]
        %y = mul %s, %h : f32[8,4]
        %z = tanh %y : f32[8,4]
        return %z
      }
      """)
    #expect(kernelOps(plan) == [["t", "u", "s", "h", "y", "z"]])
    #expect(plan.steps[0].group.kind == .elementwise)
  }

  @Test func reductionsTakePrologueAndEpilogue() throws {
    let plan = try plan(
      """
      func @f(%x: f32[3,5]) -> f32[3,1] {
        %sq = mul %x, %x : f32[3,5]
        %m = reduce_mean %sq {axes = [1], keepdims = true} : f32[3,1]
        %e = constant 1.0e-05 : f32[]
        %a = add %m, %e : f32[3,1]
        %r = rsqrt %a : f32[3,1]
        return %r
      }
      """)
    #expect(kernelOps(plan) == [["sq", "m", "e", "a", "r"]])
    #expect(plan.steps[0].group.kind == .reduction)
  }

  /// A reduction of a matmul's elementwise chain leaves the chain to the matmul's epilogue
  /// (where the native kernels apply it for free) instead of taking it as its prologue.
  @Test func reductionLeavesAMatmulsEpilogueToTheMatmul() throws {
    let plan = try plan(
      """
      func @f(%x: f32[2,3], %w: f32[3,4], %b: f32[4], %r: f32[2,4]) -> f32[2,1] {
        %h = matmul %x, %w : f32[2,4]
        %y = add %h, %b : f32[2,4]
        %s = add %y, %r : f32[2,4]
        %z = relu %s : f32[2,4]
        %m = reduce_mean %z {axes = [1], keepdims = true} : f32[2,1]
        return %m
      }
      """)
    #expect(kernelOps(plan) == [["h", "y", "s", "z"], ["m"]])
    #expect(plan.steps.map(\.group.kind) == [.matmul, .reduction])
  }

  @Test func matmulTakesAnEpilogueButNotItsOperandProducers() throws {
    let plan = try plan(
      """
      func @f(%x: f32[2,3], %w: f32[3,4], %b: f32[4]) -> f32[2,4] {
        %xe = exp %x : f32[2,3]
        %h = matmul %xe, %w : f32[2,4]
        %y = add %h, %b : f32[2,4]
        %z = relu %y : f32[2,4]
        return %z
      }
      """)
    #expect(kernelOps(plan) == [["xe"], ["h", "y", "z"]])
    #expect(plan.refusals.map(\.reason) == ["a matmul reads materialised operands"])
  }

  @Test func sharedProducersAndResultsAreMaterialised() throws {
    let plan = try plan(
      """
      func @f(%x: f32[4]) -> (f32[4], f32[4]) {
        %e = exp %x : f32[4]
        %a = sin %e : f32[4]
        %m = reduce_sum %e : f32[]
        %b = add %a, %m : f32[4]
        return %b, %e
      }
      """)
    #expect(plan.refusals.contains { plan.graph[$0.value].name == "e" && $0.reason == "returned by the function" })
    #expect(kernelOps(plan).count == 3)
  }

  @Test func dequantizeIsRecomputedInEveryConsumerThatCanFuseIt() throws {
    let text = """
      func @f(%w: q8_0[4,32], %ids: i32[2], %x: f32[3,32]) -> (f32[2,32], f32[3,4]) {
        %d = dequantize %w : f32[4,32]
        %rows = gather %d, %ids {axis = 0} : f32[2,32]
        %t = transpose %d : f32[32,4]
        %y = matmul %x, %t : f32[3,4]
        return %rows, %y
      }
      """
    let plan = try plan(text)
    #expect(kernelOps(plan) == [["d", "rows"], ["d", "t"], ["y"]])
    #expect(!plan.refusals.contains { plan.graph[$0.value].name == "d" })
    let graph = try TestSupport.parseOne(text)
    for check in try TestSupport.parity(KIRDevice(), graph, TestSupport.exampleInputs(graph, seed: 3)) {
      #expect(check.passes, "\(check.detail)")
    }
  }

  @Test func arenaBuffersNeverOverlapWhileBothLive() throws {
    for seed in 0..<60 {
      var generator = RandomGraphGenerator(seed: UInt64(seed))
      let graph = try generator.makeGraph(operations: 12)
      let plan = try GraphCompiler.compile(graph, target: .everything("kir"))
      #expect(plan.memory.arenaBytes <= plan.memory.naiveBytes)
      // Lifetimes by step: written at its step, read until its last reader (or the end if returned).
      var interval: [ValueID: ClosedRange<Int>] = [:]
      for (step, planStep) in plan.steps.enumerated() {
        guard let call = planStep.call else { continue }
        for value in call.buffers {
          let storage = plan.memory.storage(of: value)
          guard case .arena? = plan.memory.homes[storage], plan.memory.inPlace[storage] == nil else { continue }
          let lower = interval[storage]?.lowerBound ?? step
          interval[storage] = lower...Swift.max(step, interval[storage]?.upperBound ?? step)
        }
      }
      for result in plan.graph.results {
        let storage = plan.memory.storage(of: result)
        if let range = interval[storage] { interval[storage] = range.lowerBound...plan.steps.count }
      }
      let values = Array(interval.keys)
      for (i, a) in values.enumerated() {
        for b in values[(i + 1)...] where interval[a]!.overlaps(interval[b]!) {
          guard case .arena(let offsetA)? = plan.memory.homes[a], case .arena(let offsetB)? = plan.memory.homes[b]
          else { continue }
          let rangeA = offsetA..<(offsetA + plan.memory.bytes[a]!), rangeB = offsetB..<(offsetB + plan.memory.bytes[b]!)
          #expect(
            !rangeA.overlaps(rangeB),
            "seed \(seed): %\(graph[a].name) and %\(graph[b].name) share bytes while both live")
        }
      }
    }
  }

  @Test func unsupportedOpsFallBackWithTransfers() throws {
    let target = TargetCapabilities(
      name: "npu", ops: Set(OpKind.allCases).subtracting([.sin]), dtypes: Set(DType.allCases))
    let plan = try plan(
      """
      func @f(%x: f32[4,4], %w: f32[4,4]) -> f32[4,4] {
        %h = matmul %x, %w : f32[4,4]
        %s = sin %h : f32[4,4]
        %y = matmul %s, %w : f32[4,4]
        return %y
      }
      """, target: target)
    #expect(plan.steps.map(\.device) == ["npu", "cpu", "npu"])
    #expect(plan.steps[1].fallbackReason == "npu has no sin")
    let moves = plan.transfers.map { "\(plan.graph[$0.value].name) \($0.from)->\($0.to) \($0.bytes)" }
    #expect(moves == ["x host->npu 64", "w host->npu 64", "h npu->cpu 64", "s cpu->npu 64", "y npu->host 64"])
  }

  @Test func planTextNamesKernelsTransfersAndMemory() throws {
    let text = try plan("func @f(%x: f32[4]) -> f32[4] {\n  %y = exp %x : f32[4]\n  return %y\n}").description
    #expect(text.contains("plan for @f on kir (fallback cpu): 1 kernels for 1 ops"))
    #expect(text.contains("k0_exp [elementwise] on kir: exp %y"))
    #expect(text.contains("%x host -> kir: 16 B"))
    #expect(text.contains("memory: arena peak 256 B vs 256 B without reuse (0% saved)"))
  }
}

@Suite("Compiled plans on the KIR interpreter vs the reference")
struct CompiledPlanExecutionTests {
  @Test("every op example", arguments: OpExample.all)
  func opExamples(example: OpExample) throws {
    let graph = try TestSupport.parseOne(example.text)
    for check in try TestSupport.parity(KIRDevice(), graph, TestSupport.exampleInputs(graph, seed: 5)) {
      #expect(check.passes, "\(example): \(check.detail)")
    }
  }

  /// The generated matmul sums its contraction in interleaved partial sums from eight terms on
  /// (a remainder past the last whole round; below eight, one sum): contractions of 3, 8 and 11,
  /// f32 and i32, against the reference.
  @Test(
    "a generated matmul's interleaved sums",
    arguments: [3, 8, 11], [DType.f32, .i32])
  func interleavedMatmulSums(depth: Int, dtype: DType) throws {
    let graph = try TestSupport.parseOne(
      """
      func @f(%a: \(dtype)[3,\(depth)], %b: \(dtype)[\(depth),5]) -> \(dtype)[3,5] {
        %y = matmul %a, %b : \(dtype)[3,5]
        return %y
      }
      """)
    let plan = try GraphCompiler.compile(graph, target: .everything("kir"))
    let kernel = try #require(plan.steps.compactMap(\.call).first?.kernel)
    #expect(KIRPrinter.print(kernel).contains("step \(depth >= 8 ? 4 : 1) {"), "four partial sums from eight terms")
    var generator = SeededRandom(seed: 7)
    let inputs = graph.argumentTypes.map { Tensor.random($0, integerBound: 7, using: &generator) }
    for check in try TestSupport.parity(KIRDevice(), graph, inputs) { #expect(check.passes, "\(check.detail)") }
  }

  @Test func randomGraphsCompiledWithAllPassesMatchTheUnoptimisedReference() throws {
    for seed in 0..<200 {
      let (graph, checks) = try TestSupport.randomGraphParity(KIRDevice(), seed: UInt64(1000 + seed), operations: 10)
      for check in checks { #expect(check.passes, "seed \(1000 + seed): \(check.detail)\n\(Printer.print(graph))") }
    }
  }
}

@Suite("A transformer stack end to end")
struct TransformerEndToEndTests {
  @Test func twoBlocksOnTheKIRDeviceMatchTheReference() throws {
    let graph = try TransformerGraph.make(layers: 2, sequence: 5, width: 16, heads: 2, hidden: 24)
    let inputs = TransformerGraph.inputs(for: graph, sequence: 5, seed: 21)
    let expected = try TestSupport.evaluate(graph, inputs)[0]
    let actual = try KIRDevice().compile(graph).run(inputs: inputs)[0]
    #expect(TestSupport.toleranceRatio(actual, expected, atol: 1e-4, rtol: 1e-3) <= 1)
  }
}
