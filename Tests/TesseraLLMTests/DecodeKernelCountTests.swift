import Tessera
import TesseraTestSupport
import Testing

/// How many kernels a Llama decode step launches a layer on each target's capabilities (issue 17
/// counts them). Of the 19 a layer had, the GPU targets drop the two transposed copies of the
/// caches (matmuls read them in place), three of the attention's four kernels (one fused
/// kernel) and the gate's product (paired with up's): 13. An OpenCL CPU driver keeps attention
/// and the pair apart: 17. Outside the layers: the embedding lookup, the mask, the last norm,
/// the output product and the argmax.
@Suite("Kernels a decode step launches")
struct DecodeKernelCountTests {
  private static let options = CompileOptions(
    passes: PassPipeline.standard(evaluator: ReferenceConstantEvaluator()), library: StandardKernelLibrary())

  /// A CPU OpenCL driver's capabilities, as `OpenCLDevice` sets them for PoCL.
  private static var cpuDriver: TargetCapabilities {
    var target = TargetCapabilities.gpu("opencl")
    target.streamsQuantizedRows = true
    target.reductionLanes = 4
    target.fusesAttention = false
    target.pairsQuantizedProducts = false
    return target
  }

  @Test(arguments: [("vulkan", 13), ("opencl on a CPU driver", 17)])
  func kernelsPerLayer(target name: String, perLayer: Int) throws {
    let tiny = TinyLlama()
    let model = try LlamaModel(path: try tiny.write())
    let graph = try LlamaGraph.decode(config: model.config, weights: model.weights, context: 16, greedy: true)
    let target = name == "vulkan" ? TargetCapabilities.gpu("vulkan") : Self.cpuDriver
    let plan = try GraphCompiler.compile(graph, target: target, options: Self.options)
    let kernels = plan.steps.filter { $0.call != nil }.count
    #expect(kernels == perLayer * tiny.layers + 5, "\(plan.steps.compactMap { $0.call?.kernel.name })")
  }
}
