import TesseraCPU
import TesseraCompiler
import TesseraIR
import TesseraKernels
import TesseraRuntime
import TesseraTestSupport
import Testing

/// The standard library bound by the compiler: graphs compiled with it and run on the KIR
/// interpreter agree with the reference, and the library's kernels are really chosen.
@Suite("Compiled plans with the standard kernel library")
struct LibraryLoweringTests {
  private let device = KIRDevice(library: StandardKernelLibrary())

  @Test("every op example", arguments: OpExample.all)
  func opExamples(example: OpExample) throws {
    let graph = try TestSupport.parseOne(example.text)
    for check in try TestSupport.parity(device, graph, TestSupport.exampleInputs(graph, seed: 9)) {
      #expect(check.passes, "\(example): \(check.detail)")
    }
  }

  @Test func libraryKernelsAreChosenForCompositesAndMatmul() throws {
    let graph = try TestSupport.parseOne(
      """
      func @f(%x: f32[2,3,8], %w: f32[8,8], %g: f32[8]) -> (f32[2,3,8], i32[2,3]) {
        %h = matmul %x, %w : f32[2,3,8]
        %n = rms_norm %h, %g {epsilon = 1.0e-05} : f32[2,3,8]
        %s = softmax %n {axis = -1} : f32[2,3,8]
        %a = argmax %s {axis = 2} : i32[2,3]
        return %s, %a
      }
      """)
    let plan = try GraphCompiler.compile(
      graph, target: .everything("kir"), options: CompileOptions(library: StandardKernelLibrary()))
    let comments = plan.kernels.map(\.comment)
    #expect(plan.kernels.count == 4)
    #expect(comments[0].hasPrefix("c[batch] = a[batch] @ b[batch]"), "\(comments)")
    #expect(
      !plan.graph.nodes.contains { $0.kind == .reduceMax }, "softmax must not be decomposed when the library has it")
  }

  /// A target's ``TargetCapabilities/reductionLanes`` (4 on OpenCL CPU devices) narrow every
  /// line reduction the library gives it, and the narrow kernels still agree with the reference
  /// on the interpreter (the OpenCL parity tests run them on PoCL).
  @Test("the target's reduction lanes shape the library's line reductions", arguments: [nil, 4, 1] as [Int?])
  func reductionLanes(lanes: Int?) throws {
    let graph = try TestSupport.parseOne(
      """
      func @f(%x: f32[3,37], %g: f32[37]) -> (f32[3,37], i32[3], f32[3,37], f32[3]) {
        %n = rms_norm %x, %g {epsilon = 1.0e-05} : f32[3,37]
        %s = softmax %n {axis = -1} : f32[3,37]
        %a = argmax %s {axis = 1} : i32[3]
        %l = layer_norm %x {epsilon = 1.0e-05} : f32[3,37]
        %r = reduce_sum %x {axes = [1]} : f32[3]
        return %s, %a, %l, %r
      }
      """)
    var target = TargetCapabilities.everything("kir")
    target.reductionLanes = lanes
    let plan = try GraphCompiler.compile(
      graph, target: target, options: CompileOptions(library: StandardKernelLibrary()))
    #expect(plan.kernels.count == 5)
    #expect(plan.kernels.allSatisfy { $0.workgroupSize[0] == lanes ?? ReductionConfig().workgroupSize })
    let device = KIRDevice(library: StandardKernelLibrary(), capabilities: target)
    for check in try TestSupport.parity(device, graph, TestSupport.exampleInputs(graph, seed: 12)) {
      #expect(check.passes, "\(check.detail)")
    }
  }

  @Test func transformerStackWithTheLibrary() throws {
    let graph = try TransformerGraph.make(layers: 2, sequence: 5, width: 16, heads: 2, hidden: 24)
    let inputs = TransformerGraph.inputs(for: graph, sequence: 5, seed: 22)
    let expected = try TestSupport.evaluate(graph, inputs)[0]
    let actual = try device.compile(graph).run(inputs: inputs)[0]
    #expect(TestSupport.toleranceRatio(actual, expected, atol: 1e-4, rtol: 1e-3) <= 1)
  }
}
