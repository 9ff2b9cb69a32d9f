import TesseraCompiler
import TesseraIR
import TesseraKernels
import Testing

@Suite("Library kernels: rms_norm and layer_norm")
struct NormalizationTests {
  /// (rows, size).
  static let shapes: [(Int, Int)] = [(1, 1), (7, 33), (33, 7), (2, 1000)]
  static let configs = [ReductionConfig(workgroupSize: 4), ReductionConfig(workgroupSize: 32)]
  static let epsilon = 1e-5

  private func scalars(_ shape: (Int, Int)) -> [String: Double] {
    ["rows": Double(shape.0), "size": Double(shape.1), "epsilon": Self.epsilon]
  }

  @Test("rms_norm matches the reference", arguments: shapes, configs)
  func rmsNorm(shape: (Int, Int), config: ReductionConfig) throws {
    let (rows, size) = shape
    let x = KernelCheck.random(.f32, [rows, size], seed: 31), w = KernelCheck.random(.f32, [size], seed: 32)
    let kernel = try TesseraKernels.rmsNorm(config: config)
    let y = try KernelCheck.run(kernel, [x, w, KernelCheck.output(rows * size)], scalars(shape), result: 2)
    let expected = try KernelCheck.reference([x, w]) { g, v in g.rmsNorm(v[0], weight: v[1], epsilon: Self.epsilon) }
    KernelCheck.expectClose(y, expected)
  }

  @Test(
    "layer_norm with and without weight and bias", arguments: shapes,
    [(true, true), (true, false), (false, false)])
  func layerNorm(shape: (Int, Int), parameters: (weight: Bool, bias: Bool)) throws {
    let (rows, size) = shape
    let x = KernelCheck.random(.f32, [rows, size], seed: 33)
    let w = KernelCheck.random(.f32, [size], seed: 34), b = KernelCheck.random(.f32, [size], seed: 35)
    let extras = (parameters.weight ? [w] : []) + (parameters.bias ? [b] : [])
    for config in Self.configs {
      let kernel = try TesseraKernels.layerNorm(hasWeight: parameters.weight, hasBias: parameters.bias, config: config)
      let y = try KernelCheck.run(
        kernel, [x] + extras + [KernelCheck.output(rows * size)], scalars(shape), result: 1 + extras.count)
      let expected = try KernelCheck.reference([x] + extras) { g, v in
        g.layerNorm(
          v[0], weight: parameters.weight ? v[1] : nil, bias: parameters.bias ? v[2] : nil, epsilon: Self.epsilon)
      }
      KernelCheck.expectClose(y, expected)
    }
  }
}
