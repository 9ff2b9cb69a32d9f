import TesseraCPU
import TesseraCompiler
import TesseraIR
import TesseraKernels
import TesseraRuntime
import TesseraTestSupport
import Testing

@testable import TesseraOpenCL

@Suite("OpenCL vs the reference", .enabled(if: OpenCLTestDevice.available, OpenCLTestDevice.reason))
struct OpenCLParityTests {
  @Test("every op example", arguments: OpExample.all)
  func opExamples(example: OpExample) throws {
    let device = try #require(OpenCLTestDevice.device)
    let graph = try TestSupport.parseOne(example.text)
    for check in try TestSupport.parity(device, graph, TestSupport.exampleInputs(graph, seed: 5)) {
      #expect(check.passes, "\(example): \(check.detail)")
    }
  }

  @Test func randomGraphsMatchTheReference() throws {
    let device = try #require(OpenCLTestDevice.device)
    for seed in 0..<30 {
      let (graph, checks) = try TestSupport.randomGraphParity(device, seed: UInt64(3000 + seed), operations: 8)
      for check in checks { #expect(check.passes, "seed \(3000 + seed): \(check.detail)\n\(Printer.print(graph))") }
    }
  }

  @Test func stepsOutsideTheCapabilitiesRunOnTheHostRunner() throws {
    let base = try #require(OpenCLTestDevice.device)
    let capabilities = TargetCapabilities(
      name: "opencl", ops: Set(OpKind.allCases).subtracting([.sin]), dtypes: Set(DType.allCases))
    let device = try base.configured(capabilities: capabilities)
    let graph = try TestSupport.parseOne(
      """
      func @f(%x: f32[4,4], %w: f32[4,4]) -> f32[4,4] {
        %h = matmul %x, %w : f32[4,4]
        %s = sin %h : f32[4,4]
        %y = matmul %s, %w : f32[4,4]
        return %y
      }
      """)
    #expect(try device.plan(graph).steps.filter { $0.call != nil }.map(\.device) == ["opencl", "cpu", "opencl"])
    var generator = SeededRandom(seed: 9)
    let inputs = graph.argumentTypes.map { Tensor.random($0, using: &generator) }
    let expected = try TestSupport.evaluate(graph, inputs)[0]
    let actual = try device.compile(graph).run(inputs: inputs)[0]
    #expect(TestSupport.toleranceRatio(actual, expected, atol: 1e-5, rtol: 1e-4) <= 1)
  }

  /// With the kernel library, so that the softmax stays one op, and the fused attention kernel
  /// forced on, and off.
  @Test(arguments: [true, false])
  func aDecodeStepsAttentionMatchesTheReference(fused: Bool) throws {
    let base = try #require(OpenCLTestDevice.device)
    var capabilities = base.capabilities
    capabilities.fusesAttention = fused
    var options = base.options
    options.library = StandardKernelLibrary()
    let device = try base.configured(capabilities: capabilities, options: options)
    let plan = try device.plan(TestSupport.parseOne(DecodeAttentionGraph.text(context: 29)))
    #expect(plan.steps.contains { $0.group.kind == .attention } == fused)
    for (name, check) in try DecodeAttentionGraph.parity(on: device) {
      #expect(check.passes, "\(name): \(check.detail)")
    }
  }

  @Test func aTransformerStackMatchesTheReference() throws {
    let device = try #require(OpenCLTestDevice.device)
    let graph = try TransformerGraph.make(layers: 1, sequence: 5, width: 16, heads: 2, hidden: 24)
    let inputs = TransformerGraph.inputs(for: graph, sequence: 5, seed: 21)
    let expected = try TestSupport.evaluate(graph, inputs)[0]
    let actual = try device.compile(graph).run(inputs: inputs)[0]
    #expect(TestSupport.toleranceRatio(actual, expected, atol: 1e-4, rtol: 1e-3) <= 1)
  }
}
