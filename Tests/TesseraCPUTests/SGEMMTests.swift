import Foundation
import TesseraCPU
import TesseraRuntime
import Testing

/// Shapes with 1, 7, 33 and tails past every block size.
let gemmShapes: [(m: Int, n: Int, k: Int)] = [
  (1, 1, 1), (7, 33, 7), (33, 7, 33), (8, 32, 256), (9, 33, 257), (70, 100, 300), (1, 600, 40), (300, 5, 19),
  (64, 2100, 3), (12, 32, 256), (25, 64, 513), (250, 40, 260),
]

@Suite("Packed SGEMM vs a Double reference")
struct SGEMMTests {
  static func reference(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int) -> [Double] {
    var c = [Double](repeating: 0, count: m * n)
    for i in 0..<m {
      for p in 0..<k {
        for j in 0..<n { c[i * n + j] += Double(a[i * k + p]) * Double(b[p * n + j]) }
      }
    }
    return c
  }

  static func random(_ count: Int, seed: UInt64) -> [Float] {
    var generator = SeededRandom(seed: seed)
    return (0..<count).map { _ in Float.random(in: -1..<1, using: &generator) }
  }

  @Test("f32 and f16 weights, with and without an epilogue", arguments: gemmShapes.indices, threadCounts)
  func multiply(shape: Int, threads: Int) {
    let (m, n, k) = gemmShapes[shape]
    let a = Self.random(m * k, seed: 1), b = Self.random(k * n, seed: 2)
    let bias = Self.random(n, seed: 3), residual = Self.random(m * n, seed: 4)
    let half = b.map { Float16($0) }
    let pool = CPUThreadPool(threads: threads)
    var plain = [Float](repeating: .nan, count: m * n), fused = plain, fromHalf = plain
    SGEMM.multiply(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &plain, ldc: n, pool: pool)
    bias.withUnsafeBufferPointer { biasPointer in
      residual.withUnsafeBufferPointer { residualPointer in
        let epilogue = GEMMEpilogue(
          bias: biasPointer.baseAddress, activation: .silu, residual: residualPointer.baseAddress, residualStride: n)
        SGEMM.multiply(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &fused, ldc: n, epilogue: epilogue, pool: pool)
      }
    }
    SGEMM.multiply(m: m, n: n, k: k, a: a, lda: k, b: half, ldb: n, c: &fromHalf, ldc: n, pool: pool)
    let expected = Self.reference(a, b, m: m, n: n, k: k)
    let expectedHalf = Self.reference(a, half.map { Float($0) }, m: m, n: n, k: k)
    let tolerance = 1e-5 * Double(k) + 1e-5
    var worst = (plain: 0.0, fused: 0.0, half: 0.0)
    for i in 0..<m {
      for j in 0..<n {
        let e = expected[i * n + j]
        let x = e + Double(bias[j])
        let activated = x / (1 + Foundation.exp(-x)) + Double(residual[i * n + j])
        worst.plain = max(worst.plain, abs(Double(plain[i * n + j]) - e))
        worst.fused = max(worst.fused, abs(Double(fused[i * n + j]) - activated))
        worst.half = max(worst.half, abs(Double(fromHalf[i * n + j]) - expectedHalf[i * n + j]))
      }
    }
    #expect(worst.plain <= tolerance, "\(m)x\(n)x\(k)")
    #expect(worst.fused <= tolerance, "\(m)x\(n)x\(k) fused")
    #expect(worst.half <= tolerance, "\(m)x\(n)x\(k) f16")
  }

  @Test("a bias per row and a residual added before the relu", arguments: gemmShapes.indices, threadCounts)
  func rowBiasResidualRelu(shape: Int, threads: Int) {
    let (m, n, k) = gemmShapes[shape]
    let a = Self.random(m * k, seed: 5), b = Self.random(k * n, seed: 6)
    let rowBias = Self.random(m, seed: 7), residual = Self.random(m * n, seed: 8)
    var fused = [Float](repeating: .nan, count: m * n)
    rowBias.withUnsafeBufferPointer { biasPointer in
      residual.withUnsafeBufferPointer { residualPointer in
        let epilogue = GEMMEpilogue(
          rowBias: biasPointer.baseAddress, activation: .relu, residual: residualPointer.baseAddress,
          residualStride: n, residualBeforeActivation: true)
        SGEMM.multiply(
          m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &fused, ldc: n, epilogue: epilogue,
          pool: CPUThreadPool(threads: threads))
      }
    }
    let product = Self.reference(a, b, m: m, n: n, k: k)
    var worst = 0.0
    for i in 0..<m {
      for j in 0..<n {
        let expected = max(product[i * n + j] + Double(rowBias[i]) + Double(residual[i * n + j]), 0)
        worst = max(worst, abs(Double(fused[i * n + j]) - expected))
      }
    }
    #expect(worst <= 1e-5 * Double(k) + 1e-5, "\(m)x\(n)x\(k)")
  }
}
