import TesseraIR
import TesseraRuntime
import TesseraTestSupport
import Testing

/// Steps that read only bound weights (`transpose(dequantize(W))`) run once per weight on the
/// npu and are shared by every graph compiled there; results stay the reference's.
@Suite("NPU: weight-only steps kept between runs")
struct NPUKeptValueTests {
  static func graph(_ name: String, epilogue: String = "") throws -> Graph {
    try TestSupport.weightMatmulGraph(name, epilogue: epilogue)
  }

  /// The reference's result for `x` and `w`, and a check that `actual` is within the cube's tolerance.
  static func expectReference(_ actual: Tensor, graph: Graph, x: Tensor, w: Tensor) throws {
    let expected = try TestSupport.evaluate(graph, [x, w])[0]
    #expect(TestSupport.toleranceRatio(actual, expected, atol: 1e-2, rtol: 1e-1) <= 1)
  }

  @Test func keptStepsRunOnceAndAreSharedByGraphs() throws {
    var generator = SeededRandom(seed: 11)
    let plain = try Self.graph("plain"), activated = try Self.graph("activated", epilogue: "relu")
    let w = Tensor.random(plain.type(of: plain.arguments[1]), using: &generator)
    let device = npuDevice()
    let parameters = try ParameterSet(uploading: [("w", w)], to: device)
    let first = try device.compile(plain, parameters: parameters)
    for run in 0..<3 {
      let x = Tensor.random(plain.type(of: plain.arguments[0]), using: &generator)
      let execution = try first.execute([.host(x)], profile: true)
      try Self.expectReference(try execution.results[0].hostTensor(), graph: plain, x: x, w: w)
      // The first run computes the transposed weight; later runs only multiply.
      #expect(execution.kernels?.count == (run == 0 ? 2 : 1))
    }
    let kept = device.derivedValues.allocatedBytes
    #expect(kept >= 64 * 48 * 4)
    let second = try device.compile(activated, parameters: parameters)
    let x = Tensor.random(plain.type(of: plain.arguments[0]), using: &generator)
    let execution = try second.execute([.host(x)], profile: true)
    try Self.expectReference(try execution.results[0].hostTensor(), graph: activated, x: x, w: w)
    #expect(execution.kernels?.count == 1, "the second graph finds the first graph's transposed weight")
    #expect(device.derivedValues.allocatedBytes == kept)
  }

  @Test func aWrittenWeightIsComputedAgain() throws {
    var generator = SeededRandom(seed: 12)
    let graph = try Self.graph("f")
    let (xType, wType) = (graph.type(of: graph.arguments[0]), graph.type(of: graph.arguments[1]))
    let device = npuDevice()
    let weight = try device.upload(Tensor.random(wType, using: &generator))
    let compiled = try device.compile(graph, parameters: ParameterSet(["w": weight]))
    let x = Tensor.random(xType, using: &generator)
    _ = try compiled.run(inputs: [x])
    let replacement = Tensor.random(wType, using: &generator)
    try weight.write(replacement)
    try Self.expectReference(try compiled.run(inputs: [x])[0], graph: graph, x: x, w: replacement)
  }

  @Test func weightsGivenOnTheHostKeepNothing() throws {
    var generator = SeededRandom(seed: 13)
    let graph = try Self.graph("f")
    let inputs = graph.argumentTypes.map { Tensor.random($0, using: &generator) }
    let device = npuDevice()
    let compiled = try device.compile(graph)
    for _ in 0..<2 {
      try Self.expectReference(try compiled.run(inputs: inputs)[0], graph: graph, x: inputs[0], w: inputs[1])
    }
    #expect(device.derivedValues.allocatedBytes == 0)
  }
}
