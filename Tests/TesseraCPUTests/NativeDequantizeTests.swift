import TesseraIR
import TesseraRuntime
import TesseraTestSupport
import Testing

@testable import TesseraCPU

/// `dequantize(w)` and `transpose(dequantize(w))` of every block format take the cpu's native
/// block-at-a-time route and give the reference decode's exact bits, on one thread and several.
@Suite struct NativeDequantizeTests {
  @Test(arguments: BlockFormat.all, [false, true])
  func decodesLikeTheReference(format: BlockFormat, transposed: Bool) throws {
    let (n, k) = (7, 2 * format.elements)
    let body =
      transposed
      ? "  %d = dequantize %w : f32[\(n),\(k)]\n  %y = transpose %d {perm = [1, 0]} : f32[\(k),\(n)]\n"
      : "  %y = dequantize %w : f32[\(n),\(k)]\n"
    let result = transposed ? "f32[\(k),\(n)]" : "f32[\(n),\(k)]"
    let graph = try TestSupport.parseOne(
      "func @f(%w: \(format.dtype)[\(n),\(k)]) -> \(result) {\n\(body)  return %y\n}")
    var generator = SeededRandom(seed: 47)
    let w = Tensor.random(graph.argumentTypes[0], using: &generator)
    let decoded = Quantization.dequantize(w.bytes, dtype: format.dtype, count: n * k)
    let expected = transposed ? (0..<(n * k)).map { decoded[($0 % n) * k + $0 / n] } : decoded
    for threads in [1, 3] {
      let device = CPUDevice(pool: CPUThreadPool(threads: threads))
      let routes = try device.routes(for: graph)
      #expect(routes.count { if case .dequantize = $0 { true } else { false } } == 1, "\(format) native route")
      let actual = try device.compile(graph).run(inputs: [w])[0]
      #expect(actual.floats == expected, "\(format) transposed \(transposed), \(threads) threads")
    }
  }
}
