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

  @Test func transformerStackWithTheLibrary() throws {
    let graph = try TransformerGraph.make(layers: 2, sequence: 5, width: 16, heads: 2, hidden: 24)
    let inputs = TransformerGraph.inputs(for: graph, sequence: 5, seed: 22)
    let expected = try TestSupport.evaluate(graph, inputs)[0]
    let actual = try device.compile(graph).run(inputs: inputs)[0]
    #expect(TestSupport.toleranceRatio(actual, expected, atol: 1e-4, rtol: 1e-3) <= 1)
  }
}
