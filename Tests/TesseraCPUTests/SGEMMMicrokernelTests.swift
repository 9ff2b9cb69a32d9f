import TesseraRuntime
import Testing

@testable import TesseraCPU

/// Every SGEMM microkernel on every machine (whichever the build prefers), and the block sizes
/// derived from cache sizes.
@Suite("SGEMM microkernels and cache blocking")
struct SGEMMMicrokernelTests {
  static let caches = [CacheSizes.host, CacheSizes(level1: 4096, level2: 32768)]

  @Test(
    "each microkernel, on the host's caches and on tiny ones, A packed by the plain loop or by the register transpose (the convolutions'), against a Double reference",
    arguments: SGEMM.Microkernel.allCases, 0..<4)
  func microkernel(kernel: SGEMM.Microkernel, variant: Int) {
    // Variants 0 and 1: the host's and the tiny caches; 2 and 3 the same with the transpose.
    let (caches, transposingA) = (variant % 2, variant >= 2)
    for (m, n, k) in gemmShapes {
      for threads in [1, 3] {
        let a = SGEMMTests.random(m * k, seed: 5), b = SGEMMTests.random(k * n, seed: 6)
        var c = [Float](repeating: .nan, count: m * n)
        a.withUnsafeBufferPointer { a in
          b.withUnsafeBufferPointer { b in
            c.withUnsafeMutableBufferPointer { c in
              SGEMM.multiply(
                m: m, n: n, k: k, a: a.baseAddress!, lda: k, source: GEMMMatrixSource(b: b.baseAddress!, ldb: n),
                c: c.baseAddress!, ldc: n, epilogue: .none, pool: CPUThreadPool(threads: threads),
                microkernel: kernel, caches: Self.caches[caches], transposingA: transposingA)
            }
          }
        }
        let expected = SGEMMTests.reference(a, b, m: m, n: n, k: k)
        let worst = zip(c, expected).map { abs(Double($0) - $1) }.max() ?? 0
        #expect(worst <= 1e-5 * Double(k) + 1e-5, "\(kernel) \(m)x\(n)x\(k) on \(threads) threads")
      }
    }
  }

  @Test("block sizes follow the caches: A micro-panel in half of L1, B panel and A block in 3/4 of L2")
  func blocking() {
    // Emerald Rapids: 48 KiB L1d, 2 MiB L2; 12×32 tile. 24576 / 48 = 512 → capped at 384;
    // (1572864 − 240·384·4) / (384·4) = 784 → 768 (a multiple of 32).
    #expect(
      SGEMM.Blocking(mr: 12, nr: 32, caches: CacheSizes(level1: 48 << 10, level2: 2 << 20))
        == .init(depth: 384, rows: 240, columns: 768))
    // Zen 1: 32 KiB L1d, 512 KiB L2; 6×16 tile. 16384 / 24 = 682 → 384;
    // (393216 − 120·384·4) / (384·4) = 136 → 128.
    #expect(
      SGEMM.Blocking(mr: 6, nr: 16, caches: CacheSizes(level1: 32 << 10, level2: 512 << 10))
        == .init(depth: 384, rows: 120, columns: 128))
    // Tiny caches keep the smallest blocks: depth 64, one micro-panel of columns.
    #expect(
      SGEMM.Blocking(mr: 12, nr: 32, caches: CacheSizes(level1: 4096, level2: 32768))
        == .init(depth: 64, rows: 240, columns: 32))
  }
}
