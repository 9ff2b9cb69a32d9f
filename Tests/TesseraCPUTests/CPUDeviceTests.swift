import TesseraCPU
import TesseraCompiler
import TesseraIR
import TesseraRuntime
import TesseraTestSupport
import Testing

/// The `cpu` device on one thread and on several.
let threadCounts = [1, 3]

@Suite("The cpu device vs the reference evaluator")
struct CPUDeviceTests {
  @Test("every op example", arguments: OpExample.all, threadCounts)
  func opExamples(example: OpExample, threads: Int) throws {
    let graph = try TestSupport.parseOne(example.text)
    let device = CPUDevice(pool: CPUThreadPool(threads: threads))
    for check in try TestSupport.parity(device, graph, TestSupport.exampleInputs(graph, seed: 5)) {
      #expect(check.passes, "\(example): \(check.detail)")
    }
  }

  @Test("random graphs", arguments: threadCounts)
  func randomGraphs(threads: Int) throws {
    let device = CPUDevice(pool: CPUThreadPool(threads: threads))
    for seed in 0..<100 {
      let (graph, checks) = try TestSupport.randomGraphParity(device, seed: UInt64(3000 + seed), operations: 10)
      for check in checks { #expect(check.passes, "seed \(3000 + seed): \(check.detail)\n\(Printer.print(graph))") }
    }
  }

  @Test("a transformer stack", arguments: threadCounts)
  func transformer(threads: Int) throws {
    let graph = try TransformerGraph.make(layers: 2, sequence: 7, width: 32, heads: 2, hidden: 40)
    let inputs = TransformerGraph.inputs(for: graph, sequence: 7, seed: 21)
    let expected = try TestSupport.evaluate(graph, inputs)[0]
    let actual = try CPUDevice(pool: CPUThreadPool(threads: threads)).compile(graph).run(inputs: inputs)[0]
    #expect(TestSupport.toleranceRatio(actual, expected, atol: 1e-4, rtol: 1e-3) <= 1)
  }

  @Test(
    "matmul groups with epilogues run natively",
    arguments: [
      ("add %h, %b", "relu"), ("add %b, %h", "silu"), ("add %h, %r", "gelu"), ("add %h, %b", "neg"),
    ], threadCounts)
  func matmulEpilogues(chain: (first: String, activation: String), threads: Int) throws {
    let (first, activation) = chain
    let text = """
      func @f(%x: f32[2,33,70], %w: f32[70,37], %b: f32[37], %r: f32[2,33,37]) -> f32[2,33,37] {
        %h = matmul %x, %w : f32[2,33,37]
        %y = \(first) : f32[2,33,37]
        %z = \(activation) %y : f32[2,33,37]
        %o = add %z, %r : f32[2,33,37]
        return %o
      }
      """
    let graph = try TestSupport.parseOne(text)
    var generator = SeededRandom(seed: 9)
    let inputs = graph.argumentTypes.map { Tensor.random($0, using: &generator) }
    let expected = try TestSupport.evaluate(graph, inputs)[0]
    let actual = try CPUDevice(pool: CPUThreadPool(threads: threads)).compile(graph).run(inputs: inputs)[0]
    #expect(TestSupport.toleranceRatio(actual, expected, atol: 1e-4, rtol: 1e-4) <= 1)
  }

  @Test("the host runner matches the KIR interpreter on every kernel of a plan")
  func hostRunner() throws {
    for seed in 0..<20 {
      var generator = RandomGraphGenerator(seed: UInt64(500 + seed))
      let graph = try generator.makeGraph(operations: 8)
      let plan = try GraphCompiler.compile(graph, target: .everything("cpu"))
      for call in plan.steps.compactMap(\.call) {
        var random = SeededRandom(seed: UInt64(seed))
        let buffers = call.buffers.map { Tensor.random(plan.graph.type(of: $0), integerBound: 3, using: &random) }
        let expected = try InterpreterKernelRunner().run(call, buffers: buffers)
        let actual = try CPUKernelRunner(pool: CPUThreadPool(threads: 2)).run(call, buffers: buffers)
        #expect(
          TestSupport.toleranceRatio(actual[0], expected[0], atol: 1e-5, rtol: 1e-4) <= 1,
          "seed \(500 + seed) \(call.kernel.name)")
      }
    }
  }

  @Test func threadCountComesFromTheEnvironment() {
    #expect(CPUThreadPool.defaultThreadCount(environment: ["TESSERA_THREADS": "3"]) == 3)
    #expect(CPUThreadPool.defaultThreadCount(environment: ["TESSERA_THREADS": "zero"]) >= 1)
    #expect(CPUThreadPool(threads: 0).threads == 1)
  }

  @Test("TESSERA_CPU_PRECISION picks the quantized-matmul mode; an unknown mode makes cpu unusable, saying why")
  func precisionComesFromTheEnvironment() throws {
    func device(_ environment: [String: String]) -> DeviceEntry { CPUProvider(environment: environment).discover()[0] }
    #expect((device([:]).device as? CPUDevice)?.quantizedPrecision == .f32Activations)
    let int8 = device(["TESSERA_CPU_PRECISION": "int8-activations"])
    #expect((int8.device as? CPUDevice)?.quantizedPrecision == .int8Activations)
    #expect(int8.info.summary.hasSuffix("quantized matmuls with int8-activations"))
    let wrong = device(["TESSERA_CPU_PRECISION": "int4"])
    #expect(wrong.device == nil)
    guard case .unavailable(let reason) = wrong.info.availability else {
      Issue.record("cpu is usable with TESSERA_CPU_PRECISION=int4")
      return
    }
    #expect(reason == "TESSERA_CPU_PRECISION='int4' is not f32-activations or int8-activations")
  }
}
