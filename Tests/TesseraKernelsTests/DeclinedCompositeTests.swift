import TesseraCPU
import TesseraCompiler
import TesseraIR
import TesseraKernels
import TesseraRuntime
import TesseraTestSupport
import Testing

/// Composites the standard library has no kernel for are decomposed, not left for the kernel
/// generator (which cannot emit them). Found by `tessera-difftest` (seed 9: `layer_norm` over
/// axis -2 failed to compile on kir, cpu, opencl and vulkan).
@Suite("Composites the library declines")
struct DeclinedCompositeTests {
  @Test(
    arguments: [
      "%y = layer_norm %x {axis = -2} : f32[5,2]", "%y = rms_norm %x, %x {axis = 0} : f32[5,2]",
      "%y = softmax %x {axis = 0} : f32[5,2]",
    ])
  func compileAndAgreeWithTheReference(statement: String) throws {
    let graph = try TestSupport.parseOne("func @f(%x: f32[5,2]) -> f32[5,2] {\n  \(statement)\n  return %y\n}\n")
    var generator = SeededRandom(seed: 3)
    let inputs = graph.argumentTypes.map { Tensor.random($0, using: &generator) }
    let actual = try KIRDevice(library: StandardKernelLibrary()).compile(graph).run(inputs: inputs)
    let expected = try TestSupport.evaluate(graph, inputs)
    #expect(TestSupport.toleranceRatio(actual[0], expected[0], atol: 1e-5, rtol: 1e-4) <= 1)
  }
}
