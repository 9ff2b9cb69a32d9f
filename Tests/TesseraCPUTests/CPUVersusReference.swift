import TesseraIR
import TesseraKernels
import TesseraRuntime
import TesseraTestSupport

@testable import TesseraCPU

/// One graph on a cpu device with the kernel library and on the reference evaluator.
enum CPUVersusReference {
  /// Runs `text` on a cpu device of `threads` threads and on the reference evaluator, with the
  /// same random inputs (integers below 5, from `seed`); returns how each step ran and the worst
  /// tolerance ratio of the first result.
  static func compare(_ text: String, threads: Int, seed: UInt64, atol: Double, rtol: Double) throws -> (
    routes: [CPUPlanBackend.Action], ratio: Double
  ) {
    let graph = try TestSupport.parseOne(text)
    let device = CPUDevice(library: StandardKernelLibrary(), pool: CPUThreadPool(threads: threads))
    var generator = SeededRandom(seed: seed)
    let inputs = graph.argumentTypes.map { Tensor.random($0, integerBound: 5, using: &generator) }
    let expected = try TestSupport.evaluate(graph, inputs)[0]
    let actual = try device.compile(graph).run(inputs: inputs)[0]
    return (try device.routes(for: graph), TestSupport.toleranceRatio(actual, expected, atol: atol, rtol: rtol))
  }
}
