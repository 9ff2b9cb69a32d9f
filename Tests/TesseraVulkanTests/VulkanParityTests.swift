import Foundation
import TesseraCPU
import TesseraCompiler
import TesseraIR
import TesseraKernels
import TesseraRuntime
import TesseraTestSupport
import TesseraVulkan
import Testing

@Suite(
  "Vulkan vs the reference evaluator",
  .enabled(if: VulkanTestDevice.device != nil, Comment(rawValue: VulkanTestDevice.skipReason)))
struct VulkanParityTests {
  private var device: any Device { VulkanTestDevice.device! }

  @Test("every op example, host-visible and staged buffers", arguments: OpExample.all, [false, true])
  func opExamples(example: OpExample, staged: Bool) throws {
    let device = VulkanTestDevice.device(staged: staged)
    let graph = try TestSupport.parseOne(example.text)
    for check in try TestSupport.parity(device, graph, TestSupport.exampleInputs(graph, seed: 5)) {
      #expect(check.passes, "\(example): \(check.detail)")
    }
  }

  @Test("random graphs: 200 host-visible, 50 staged", arguments: [false, true])
  func randomGraphsMatchTheReference(staged: Bool) throws {
    let device = VulkanTestDevice.device(staged: staged)
    for seed in 0..<(staged ? 50 : 200) {
      let (graph, checks) = try TestSupport.randomGraphParity(device, seed: UInt64(1000 + seed), operations: 10)
      for check in checks { #expect(check.passes, "seed \(1000 + seed): \(check.detail)\n\(Printer.print(graph))") }
    }
  }

  @Test(arguments: [false, true])
  func aTransformerStackMatchesTheReference(staged: Bool) throws {
    let device = VulkanTestDevice.device(staged: staged)
    let graph = try TransformerGraph.make(layers: 2, sequence: 5, width: 16, heads: 2, hidden: 24)
    let inputs = TransformerGraph.inputs(for: graph, sequence: 5, seed: 21)
    let expected = try TestSupport.evaluate(graph, inputs)[0]
    let compiled = try device.compile(graph)
    // Twice: a second run of the same command buffers must give the same answer.
    for _ in 0..<2 {
      let actual = try compiled.run(inputs: inputs)[0]
      #expect(TestSupport.toleranceRatio(actual, expected, atol: 1e-4, rtol: 1e-3) <= 1)
    }
  }

  /// With the kernel library, so that the softmax stays one op and the attention is one kernel.
  @Test func aDecodeStepsAttentionMatchesTheReference() throws {
    var options = VulkanTestDevice.options
    options.library = StandardKernelLibrary()
    let provider = VulkanProvider(options: options, host: InterpreterKernelRunner())
    let device = try #require(provider.discover().lazy.compactMap { $0.device as? VulkanDevice }.first)
    let plan = try device.plan(TestSupport.parseOne(DecodeAttentionGraph.text(context: 29)))
    #expect(plan.steps.contains { $0.group.kind == .attention })
    for (name, check) in try DecodeAttentionGraph.parity(on: device) {
      #expect(check.passes, "\(name): \(check.detail)")
    }
  }

  @Test func aForcedStagingDeviceSaysSo() throws {
    let staged = try #require(VulkanTestDevice.staged)
    #expect(staged.info.driver.contains("device-local buffers with staging copies"))
  }

  @Test("block-quantized weights decode as Quantization.dequantize", arguments: [DType.q4_0, .q4_1, .q8_0])
  func dequantize(dtype: DType) throws {
    let graph = try TestSupport.parseOne(
      "func @f(%w: \(dtype)[3,64]) -> f32[3,64] {\n  %y = dequantize %w : f32[3,64]\n  return %y\n}")
    var generator = SeededRandom(seed: 9)
    let weights = Tensor.random(graph.argumentTypes[0], using: &generator)
    let expected = Quantization.dequantize(weights.bytes, dtype: dtype, count: 192).map(Double.init)
    let actual = try device.compile(graph).run(inputs: [weights])[0]
    #expect(actual.doubles == expected)
  }

  @Test func erfMatchesFoundationToAMillionth() throws {
    let xs = (0..<2001).map { -6 + Double($0) * 0.006 }
    let graph = try TestSupport.parseOne(
      "func @f(%x: f32[2001]) -> f32[2001] {\n  %y = erf %x : f32[2001]\n  return %y\n}")
    let input = Tensor(xs, shape: [2001])
    let actual = try device.compile(graph).run(inputs: [input])[0].doubles
    for (x, y) in zip(input.doubles, actual) {
      let exact = Foundation.erf(x)
      #expect(Swift.abs(y - exact) <= 1e-6 * Swift.abs(exact) + 1e-9, "erf(\(x)) = \(y), expected \(exact)")
    }
  }

  @Test(arguments: [false, true])
  func stepsOutsideTheDeviceRunOnTheHostRunner(staged: Bool) throws {
    let restricted = try #require(VulkanTestDevice.first(excludedOps: [.sin], forceStaging: staged))
    let graph = try TestSupport.parseOne(
      """
      func @f(%x: f32[4,4], %w: f32[4,4]) -> f32[4,4] {
        %h = matmul %x, %w : f32[4,4]
        %s = sin %h : f32[4,4]
        %y = matmul %s, %w : f32[4,4]
        return %y
      }
      """)
    var generator = SeededRandom(seed: 3)
    let inputs = graph.argumentTypes.map { Tensor.random($0, using: &generator) }
    let expected = try TestSupport.evaluate(graph, inputs)[0]
    let actual = try restricted.compile(graph).run(inputs: inputs)[0]
    #expect(TestSupport.toleranceRatio(actual, expected, atol: 1e-5, rtol: 1e-4) <= 1)
  }
}
