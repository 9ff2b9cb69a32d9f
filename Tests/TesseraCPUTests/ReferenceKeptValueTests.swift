import TesseraIR
import TesseraRuntime
import TesseraTestSupport
import Testing

@testable import TesseraCPU

/// The reference device keeps values computed only from unwritten device tensors
/// (`transpose(dequantize(W))`) between runs and graphs; every result stays what the plain
/// evaluator computes from the same inputs.
@Suite("Reference: weight-only values kept between runs")
struct ReferenceKeptValueTests {
  static func graph(_ name: String, epilogue: String = "") throws -> Graph {
    try TestSupport.weightMatmulGraph(name, epilogue: epilogue)
  }

  /// Bytes of the transposed f32 weight, what a kept `%t` holds.
  static let transposedBytes = 64 * 48 * MemoryLayout<Float>.size

  static func hostStore(_ device: ReferenceDevice) -> HostTensorStore { device.store as! HostTensorStore }

  @Test func keptValuesAreComputedOnceSharedByGraphsAndChangeNoResult() throws {
    var generator = SeededRandom(seed: 21)
    let plain = try Self.graph("plain"), activated = try Self.graph("activated", epilogue: "relu")
    let w = Tensor.random(plain.argumentTypes[1], using: &generator)
    let device = ReferenceDevice()
    let weight = try device.upload(w)
    let uploaded = Self.hostStore(device).allocatedBytes
    let first = try device.compile(plain, parameters: ParameterSet(["w": weight]))
    for _ in 0..<3 {
      let x = Tensor.random(plain.argumentTypes[0], using: &generator)
      let result = try first.run(inputs: [x])[0]
      #expect(result.bytes == (try ReferenceEvaluator.evaluate(plain, inputs: [x, w]))[0].bytes)
      #expect(Self.hostStore(device).allocatedBytes == uploaded + Self.transposedBytes)
    }
    let second = try device.compile(activated, parameters: ParameterSet(["w": weight]))
    let x = Tensor.random(plain.argumentTypes[0], using: &generator)
    let result = try second.run(inputs: [x])[0]
    #expect(result.bytes == (try ReferenceEvaluator.evaluate(activated, inputs: [x, w]))[0].bytes)
    #expect(
      Self.hostStore(device).allocatedBytes == uploaded + Self.transposedBytes,
      "the second graph finds the first graph's transposed weight")
  }

  @Test func aWrittenWeightIsComputedAgain() throws {
    var generator = SeededRandom(seed: 22)
    let graph = try Self.graph("f")
    let device = ReferenceDevice()
    let weight = try device.upload(Tensor.random(graph.argumentTypes[1], using: &generator))
    let compiled = try device.compile(graph, parameters: ParameterSet(["w": weight]))
    let x = Tensor.random(graph.argumentTypes[0], using: &generator)
    _ = try compiled.run(inputs: [x])
    let replacement = Tensor.random(graph.argumentTypes[1], using: &generator)
    try weight.write(replacement)
    let result = try compiled.run(inputs: [x])[0]
    #expect(result.bytes == (try ReferenceEvaluator.evaluate(graph, inputs: [x, replacement]))[0].bytes)
  }

  @Test func weightsGivenOnTheHostKeepNothing() throws {
    var generator = SeededRandom(seed: 23)
    let graph = try Self.graph("f")
    let inputs = graph.argumentTypes.map { Tensor.random($0, using: &generator) }
    let device = ReferenceDevice()
    let compiled = try device.compile(graph)
    for _ in 0..<2 {
      #expect(
        try compiled.run(inputs: inputs)[0].bytes == (try ReferenceEvaluator.evaluate(graph, inputs: inputs))[0].bytes)
    }
    #expect(Self.hostStore(device).allocatedBytes == 0)
  }

  /// A cache updated in place is written by the graph, and host inputs change from run to run:
  /// nothing computed from either is kept, and each run sees the cache as the last run left it.
  @Test func valuesOfAnArgumentUpdatedInPlaceAreNotKept() throws {
    let graph = try TestSupport.parseOne(
      """
      func @f(%cache: f32[4,3], %u: f32[1,3], %p: i32[1], %w: f32[3,3]) -> (f32[4,3], f32[4,3]) {
        %c = update_slice %cache, %u, %p {axis = 0} : f32[4,3]
        %s = exp %c : f32[4,3]
        %t = transpose %w {perm = [1, 0]} : f32[3,3]
        %y = matmul %s, %t : f32[4,3]
        return %c, %y
      }
      """)
    let values = WeightOnlyValues(graph, resident: [0, 3])
    #expect(values.kept.map { graph[$0.value].name } == ["t"])
    #expect(values.kept.map(\.sources) == [[3]])

    var generator = SeededRandom(seed: 24)
    let device = ReferenceDevice()
    let cache = try device.upload(Tensor(repeating: 0, shape: [4, 3]))
    let w = Tensor.random(graph.argumentTypes[3], using: &generator)
    let weight = try device.upload(w)
    let compiled = try device.compile(graph, parameters: ParameterSet(["cache": cache, "w": weight]))
    var host = Tensor(repeating: 0, shape: [4, 3])
    for row in 0..<3 {
      let u = Tensor.random(graph.argumentTypes[1], using: &generator)
      let p = Tensor([Double(row)], shape: [1], dtype: .i32)
      let expected = try ReferenceEvaluator.evaluate(graph, inputs: [host, u, p, w])
      let results = try compiled.run(inputs: [u, p])
      #expect(results.map(\.bytes) == expected.map(\.bytes))
      host = expected[0]
    }
  }

  /// Values given as known are not computed again, nor is anything only they need.
  @Test func knownValuesReplaceTheirOps() throws {
    var generator = SeededRandom(seed: 25)
    let graph = try Self.graph("f")
    let inputs = graph.argumentTypes.map { Tensor.random($0, using: &generator) }
    let t = graph.nodes.first { graph[$0.result].name == "t" }!.result
    let zeros = RefArray(Tensor(repeating: 0, shape: graph.type(of: t).shape))
    let (results, computed) = try ReferenceEvaluator.evaluate(graph, inputs: inputs, known: [t: zeros], keeping: [t])
    #expect(results[0].floats.allSatisfy { $0 == 0 })
    #expect(computed.isEmpty)
  }
}
