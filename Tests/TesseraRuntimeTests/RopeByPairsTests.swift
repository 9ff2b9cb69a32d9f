import Tessera
import TesseraTestSupport
import Testing

/// RoPE by pairs (one work-item per pair of a row, every head turned by the pair's one cosine and
/// sine) against the reference evaluator, on the KIR interpreter and on OpenCL: a decode step's
/// keys written into their cache with RoPE in one kernel (``TargetCapabilities/computesCacheUpdates``)
/// at the first, a middle and the last rows of the cache, and a rope group of its own (a decode
/// step's queries, here of `y·y` computed in the kernel); both rope modes, heads and no heads
/// (rank 2), one row and two.
@Suite("RoPE by pairs, alone and in the KV cache's write")
struct RopeByPairsTests {
  /// The rope's shape, the cache's rows (0: no cache, the rope is the result), the mode, and
  /// whether the cache holds rows of `heads · dim` (the rope's result reshaped, as the Llama
  /// graphs write keys).
  struct Case: Sendable, CustomStringConvertible {
    var update: [Int], context: Int, neox: Bool, flat = false
    var description: String {
      let mode = neox ? "neox" : "normal"
      return context == 0
        ? "rope \(update) alone, \(mode)"
        : "update \(update)\(flat ? " flattened" : "") into \(context) rows, \(mode)"
    }
  }

  static let cases = [false, true].flatMap { neox in
    [
      Case(update: [1, 3, 64], context: 9, neox: neox), Case(update: [2, 2, 8], context: 5, neox: neox),
      Case(update: [1, 16], context: 4, neox: neox), Case(update: [1, 3, 64], context: 9, neox: neox, flat: true),
      Case(update: [2, 2, 8], context: 5, neox: neox, flat: true), Case(update: [1, 9, 64], context: 0, neox: neox),
      Case(update: [3, 16], context: 0, neox: neox), Case(update: [1, 2, 3, 8], context: 0, neox: neox),
    ]
  }

  static func text(_ c: Case) -> String {
    func dims(_ values: [Int]) -> String { "[" + values.map(String.init).joined(separator: ",") + "]" }
    let count = c.update.reduce(1, *)
    let sequence = c.update[c.update.count >= 4 ? 1 : 0]
    if c.context == 0 {
      return """
        func @f(%y: f32[1,\(count)], %pos: i32[\(sequence)]) -> f32\(dims(c.update)) {
          %r = reshape %y {shape = \(dims(c.update))} : f32\(dims(c.update))
          %s = mul %r, %r : f32\(dims(c.update))
          %ro = rope %s, %pos {theta = 10000.0, mode = \(c.neox ? "neox" : "normal")} : f32\(dims(c.update))
          return %ro
        }
        """
    }
    let rows = [c.update[0], count / c.update[0]]
    let written = c.flat ? rows : c.update
    let cache = [c.context] + written.dropFirst()
    let flatten = c.flat ? "  %u = reshape %ro {shape = \(dims(rows))} : f32\(dims(rows))\n" : ""
    return """
      func @f(%y: f32[1,\(count)], %cache: f32\(dims(cache)), %pos: i32[\(c.update[0])], %start: i32[1]) \
      -> f32\(dims(cache)) {
        %r = reshape %y {shape = \(dims(c.update))} : f32\(dims(c.update))
        %ro = rope %r, %pos {theta = 10000.0, mode = \(c.neox ? "neox" : "normal")} : f32\(dims(c.update))
      \(flatten)  %c = update_slice %cache, \(c.flat ? "%u" : "%ro"), %start {axis = 0} : f32\(dims(cache))
        return %c
      }
      """
  }

  static let updatingTarget: TargetCapabilities = {
    var target = TargetCapabilities.everything("kir")
    target.computesCacheUpdates = true
    return target
  }()

  static func check(_ device: any Device, _ c: Case) throws {
    let graph = try TestSupport.parseOne(Self.text(c))
    var generator = SeededRandom(seed: 3)
    if c.context == 0 {
      let sequence = graph.argumentTypes[1].shape.dims[0]
      let inputs = [
        Tensor.random(graph.argumentTypes[0], using: &generator),
        Tensor((0..<sequence).map { Double(5 + 3 * $0) }, shape: [sequence], dtype: .i32),
      ]
      let expected = try TestSupport.evaluate(graph, inputs)[0]
      let actual = try device.compile(graph).run(inputs: inputs)[0]
      #expect(
        TestSupport.toleranceRatio(actual, expected, atol: 1e-5, rtol: 1e-5) <= 1,
        "\(device.info.name) \(c): \(actual.preview()) vs \(expected.preview())")
      return
    }
    let (y, cache) = (
      Tensor.random(graph.argumentTypes[0], using: &generator), Tensor.random(graph.argumentTypes[1], using: &generator)
    )
    let compiled = try device.compile(graph)
    for start in [0, (c.context - c.update[0]) / 2, c.context - c.update[0]] {
      let positions = Tensor((0..<c.update[0]).map { Double(start + 7 + $0) }, shape: [c.update[0]], dtype: .i32)
      let inputs = [y, cache, positions, Tensor([Double(start)], shape: [1], dtype: .i32)]
      let expected = try TestSupport.evaluate(graph, inputs)[0]
      let actual = try compiled.run(inputs: inputs)[0]
      #expect(
        TestSupport.toleranceRatio(actual, expected, atol: 1e-5, rtol: 1e-5) <= 1,
        "\(device.info.name) \(c) start \(start): \(actual.preview()) vs \(expected.preview())")
    }
  }

  @Test("one kernel per pair of a row, and the reference's values on the interpreter", arguments: cases)
  func interpreter(c: Case) throws {
    let plan = try GraphCompiler.compile(TestSupport.parseOne(Self.text(c)), target: Self.updatingTarget)
    let kernels = plan.steps.compactMap(\.call).map(\.kernel)
    #expect(kernels.count == 1, "\(kernels.map(\.name))")
    let rows = c.update.dropLast().reduce(1, *) / (c.update.count >= 3 ? c.update[c.update.count - 2] : 1)
    #expect(kernels.first?.globalSize == [.constant(rows * c.update.last! / 2)])
    try Self.check(KIRDevice(capabilities: Self.updatingTarget), c)
  }

  @Test(
    "on OpenCL", .enabled(if: QuantizedMatmulDeviceTests.device("opencl") != nil), arguments: cases)
  func openCL(c: Case) throws {
    let base = try #require(QuantizedMatmulDeviceTests.device("opencl") as? OpenCLDevice)
    var capabilities = base.capabilities
    capabilities.computesCacheUpdates = true
    try Self.check(try base.configured(capabilities: capabilities), c)
  }
}
