import Foundation
import TesseraIR
import TesseraKernels
import TesseraRuntime
import TesseraTestSupport
import Testing

@testable import TesseraCPU

/// Matmuls that read the same activation with bound (tiled) quantized weights run as one step on
/// the `cpu` device, and each result equals `x · Wᵀ` computed here in Double from the weights'
/// dequantized values (with the activation blocks rounded to int8 codes in that mode).
@Suite("Matmuls sharing an activation, run as one step")
struct SharedActivationMatmulTests {
  static let k = 256
  /// Odd row counts, none a multiple of the four-row tile, together above the size at which the
  /// matvec goes parallel.
  static let rowCounts = [131, 67, 93]

  /// `%x` times each weight, as the LLM builder writes it: `matmul(x, transpose(dequantize(w)))`.
  static func projections(_ dtypes: [DType], m: Int) -> String {
    let weights = dtypes.indices.map { "%w\($0): \(dtypes[$0])[\(rowCounts[$0]),\(k)]" }
    let types = dtypes.indices.map { "f32[\(m),\(rowCounts[$0])]" }
    let body = dtypes.indices.map { index in
      let n = rowCounts[index]
      return """
          %d\(index) = dequantize %w\(index) : f32[\(n),\(k)]
          %t\(index) = transpose %d\(index) : f32[\(k),\(n)]
          %y\(index) = matmul %x, %t\(index) : f32[\(m),\(n)]

        """
    }
    return """
      func @f(%x: f32[\(m),\(k)], \(weights.joined(separator: ", "))) -> (\(types.joined(separator: ", "))) {
      \(body.joined())  return \(dtypes.indices.map { "%y\($0)" }.joined(separator: ", "))
      }
      """
  }

  /// What the device computes for `x · Wᵀ` in `precision`, and the magnitudes bounding its rounding.
  static func expected(_ x: [Float], _ w: Tensor, m: Int, precision: QuantizedPrecision) -> ([Double], [Double]) {
    let (n, k) = (w.type.shape.dims[0], w.type.shape.dims[1])
    return precision == .int8Activations && Int8TileMatvec.available
      ? QuantizedTileTests.expectedInt8(x, w, m: m, n: n, k: k) : QuantizedMatmulTests.expected(x, w, m: m, n: n, k: k)
  }

  /// Compiles `text` on a cpu device with the weights `%w0…` bound (so they are tiled), runs it on
  /// `x` and returns the results and the profile's kernel names.
  static func run(
    _ text: String, x: [Float], m: Int, weights: [Tensor], extra: [String: Tensor] = [:], precision: QuantizedPrecision,
    threads: Int
  ) throws -> (results: [[Float]], kernels: [String]) {
    let graph = try TestSupport.parseOne(text)
    let device = CPUDevice(
      library: StandardKernelLibrary(), pool: CPUThreadPool(threads: threads), quantizedPrecision: precision)
    let bound = try ParameterSet(uploading: weights.enumerated().map { ("w\($0)", $1) }, to: device)
    let compiled = try device.compile(graph, parameters: bound)
    var inputs = extra
    inputs["x"] = Tensor(floats: x, shape: [m, k])
    let kernels = try #require(try compiled.profile(inputs: inputs)).map(\.kernel)
    let results = try compiled.run(inputs: inputs).map(\.floats)
    return (results, kernels)
  }

  /// `m` activation rows in [-1, 1) with one all-zero block, and weights of `dtypes` with `rows` rows.
  static func random(_ dtypes: [DType], rows: [Int] = rowCounts, m: Int, seed: UInt64) -> (
    x: [Float], weights: [Tensor]
  ) {
    var generator = SeededRandom(seed: seed)
    let weights = dtypes.indices.map { Tensor.random(TensorType(dtypes[$0], [rows[$0], k]), using: &generator) }
    var x = (0..<(m * k)).map { _ in Float.random(in: -1..<1, using: &generator) }
    x.replaceSubrange(32..<64, with: repeatElement(0, count: 32))  // an all-zero block has scale 0
    return (x, weights)
  }

  /// Records the first element of `actual` farther from `expected.0` than `1e-5` of its
  /// magnitude `expected.1` (plus `1e-5`).
  static func expectClose(_ actual: [Float], _ expected: ([Double], [Double]), _ label: String) {
    #expect(actual.count == expected.0.count, "\(label): element count")
    for e in actual.indices where abs(Double(actual[e]) - expected.0[e]) > 1e-5 * expected.1[e] + 1e-5 {
      Issue.record("\(label) element \(e): \(actual[e]), expected \(expected.0[e])")
      return
    }
  }

  @Test(
    "three projections of one input, each tiled format, both modes, 1 and 3 activation rows, one step",
    arguments: [DType.q4_0, .q4_1, .q8_0, .q4_k, .q6_k], threadCounts)
  func threeProjections(dtype: DType, threads: Int) throws {
    for precision in QuantizedPrecision.allCases {
      for m in [1, 3] {
        let (x, weights) = Self.random([dtype, dtype, dtype], m: m, seed: 7)
        let (results, kernels) = try Self.run(
          Self.projections([dtype, dtype, dtype], m: m), x: x, m: m, weights: weights, precision: precision,
          threads: threads)
        for index in 0..<3 {
          Self.expectClose(
            results[index], Self.expected(x, weights[index], m: m, precision: precision),
            "\(dtype) \(precision) m=\(m) \(threads)T y\(index)")
        }
        let grouped = SharedActivationMatvec.supports(dtype, rows: m, precision: precision)
        #expect(
          kernels.filter { $0.hasPrefix("native matmuls sharing") }
            == (grouped ? ["native matmuls sharing %x (\(dtype), \(dtype), \(dtype)) → %y0, %y1, %y2"] : []),
          "\(precision) m=\(m): \(kernels)")
      }
    }
  }

  @Test(
    "weights of different formats (byte codes and nibbles) share the activation; quantized once per layout",
    arguments: QuantizedPrecision.allCases, threadCounts)
  func mixedFormats(precision: QuantizedPrecision, threads: Int) throws {
    let dtypes: [DType] = [.q6_k, .q4_1, .q8_0]
    let (x, weights) = Self.random(dtypes, m: 1, seed: 8)
    let (results, kernels) = try Self.run(
      Self.projections(dtypes, m: 1), x: x, m: 1, weights: weights, precision: precision, threads: threads)
    for index in 0..<3 {
      Self.expectClose(
        results[index], Self.expected(x, weights[index], m: 1, precision: precision), "\(precision) y\(index)")
    }
    #expect(kernels.contains("native matmuls sharing %x (q6_k, q4_1, q8_0) → %y0, %y1, %y2"), "\(kernels)")
  }

  @Test(
    "the shared input read by another op between the matmuls, a SwiGLU gate and a residual in their epilogues",
    arguments: QuantizedPrecision.allCases, threadCounts)
  func otherReadersAndEpilogues(precision: QuantizedPrecision, threads: Int) throws {
    // The node order puts the row sum and the gate's activation between the siblings; the
    // compiler moves the up projection next to the gate, and the gate (read by the up
    // projection's epilogue) is complete before that epilogue runs.
    let (m, n) = (1, Self.rowCounts[0])
    let text = """
      func @f(%x: f32[1,\(Self.k)], %w0: q4_0[\(n),\(Self.k)], %w1: q8_0[\(n),\(Self.k)], %r: f32[1,\(n)]) -> (f32[1,\(n)], f32[1,1]) {
        %d0 = dequantize %w0 : f32[\(n),\(Self.k)]
        %t0 = transpose %d0 : f32[\(Self.k),\(n)]
        %gate = matmul %x, %t0 : f32[1,\(n)]
        %sum = reduce_sum %x {axes = [1], keepdims = true} : f32[1,1]
        %act = silu %gate : f32[1,\(n)]
        %d1 = dequantize %w1 : f32[\(n),\(Self.k)]
        %t1 = transpose %d1 : f32[\(Self.k),\(n)]
        %up = matmul %x, %t1 : f32[1,\(n)]
        %h = mul %act, %up : f32[1,\(n)]
        %y = add %h, %r : f32[1,\(n)]
        return %y, %sum
      }
      """
    let (x, weights) = Self.random([.q4_0, .q8_0], rows: [n, n], m: m, seed: 9)
    let residual = (0..<n).map { Float($0 % 7) - 3 }
    let (results, kernels) = try Self.run(
      text, x: x, m: m, weights: weights, extra: ["r": Tensor(floats: residual, shape: [1, n])], precision: precision,
      threads: threads)
    let gate = Self.expected(x, weights[0], m: m, precision: precision)
    let up = Self.expected(x, weights[1], m: m, precision: precision)
    let expected = (0..<n).map { j in
      let g = gate.0[j]
      return g / (1 + exp(-g)) * up.0[j] + Double(residual[j])
    }
    let magnitude = (0..<n).map { j in (abs(gate.0[j]) + gate.1[j]) * up.1[j] + abs(Double(residual[j])) }
    Self.expectClose(results[0], (expected, magnitude), "\(precision) y")
    #expect(abs(Double(results[1][0]) - x.reduce(0.0) { $0 + Double($1) }) <= 1e-4, "the row sum")
    #expect(kernels.contains { $0.hasPrefix("native matmuls sharing %x (q4_0, q8_0) → ") }, "\(kernels)")
  }

  @Test("matmuls of different inputs, or with f32 weights, are not grouped", arguments: QuantizedPrecision.allCases)
  func notGrouped(precision: QuantizedPrecision) throws {
    let (n0, n1) = (Self.rowCounts[0], Self.rowCounts[1])
    let text = """
      func @f(%x: f32[1,\(Self.k)], %w0: q4_0[\(n0),\(Self.k)], %w1: f32[\(Self.k),\(n1)], %w2: q4_0[\(n1),512], %z: f32[1,512]) -> (f32[1,\(n0)], f32[1,\(n1)], f32[1,\(n1)]) {
        %d0 = dequantize %w0 : f32[\(n0),\(Self.k)]
        %t0 = transpose %d0 : f32[\(Self.k),\(n0)]
        %y0 = matmul %x, %t0 : f32[1,\(n0)]
        %y1 = matmul %x, %w1 : f32[1,\(n1)]
        %d2 = dequantize %w2 : f32[\(n1),512]
        %t2 = transpose %d2 : f32[512,\(n1)]
        %y2 = matmul %z, %t2 : f32[1,\(n1)]
        return %y0, %y1, %y2
      }
      """
    let graph = try TestSupport.parseOne(text)
    var generator = SeededRandom(seed: 10)
    let inputs = graph.argumentTypes.map { Tensor.random($0, using: &generator) }
    let device = CPUDevice(library: StandardKernelLibrary(), quantizedPrecision: precision)
    let bound = try ParameterSet(uploading: [("w0", inputs[1]), ("w2", inputs[3])], to: device)
    let compiled = try device.compile(graph, parameters: bound)
    let named = ["x": inputs[0], "w1": inputs[2], "z": inputs[4]]
    let kernels = try #require(try compiled.profile(inputs: named)).map(\.kernel)
    #expect(!kernels.contains { $0.hasPrefix("native matmuls sharing") }, "\(kernels)")
    let actual = try compiled.run(inputs: named).map(\.floats)
    Self.expectClose(actual[0], Self.expected(inputs[0].floats, inputs[1], m: 1, precision: precision), "y0")
    let exact = try TestSupport.evaluate(graph, inputs)[1]
    #expect(TestSupport.toleranceRatio(Tensor(floats: actual[1], shape: [1, n1]), exact, atol: 1e-5, rtol: 1e-5) <= 1)
    Self.expectClose(actual[2], Self.expected(inputs[4].floats, inputs[3], m: 1, precision: precision), "y2")
  }
}
