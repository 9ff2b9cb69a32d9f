import TesseraRuntime
import Testing

@testable import TesseraCPU

/// A constant B packed once (``GEMMPackedB``) and read in place by the SGEMM.
@Suite("SGEMM with B packed once")
struct GEMMPackedBTests {
  @Test(
    "each microkernel, on the host's caches and on tiny ones: equal to B packed on every run, and to a Double reference",
    arguments: SGEMM.Microkernel.allCases, SGEMMMicrokernelTests.caches.indices)
  func packedOnce(kernel: SGEMM.Microkernel, caches: Int) {
    for (m, n, k) in gemmShapes {
      for threads in [1, 3] {
        let a = SGEMMTests.random(m * k, seed: 9), b = SGEMMTests.random(k * n, seed: 10)
        var perRun = [Float](repeating: .nan, count: m * n), once = perRun
        a.withUnsafeBufferPointer { a in
          b.withUnsafeBufferPointer { b in
            let packed = GEMMPackedB(b: b.baseAddress!, ldb: n, k: k, n: n, nr: kernel.columns)
            perRun.withUnsafeMutableBufferPointer { c in
              multiply(
                GEMMMatrixSource(b: b.baseAddress!, ldb: n), m: m, n: n, k: k, a: a.baseAddress!, c: c.baseAddress!,
                threads: threads, kernel, caches)
            }
            once.withUnsafeMutableBufferPointer { c in
              multiply(
                GEMMPackedSource(packed: packed), m: m, n: n, k: k, a: a.baseAddress!, c: c.baseAddress!,
                threads: threads, kernel, caches)
            }
          }
        }
        #expect(once == perRun, "\(kernel) \(m)x\(n)x\(k) on \(threads) threads")
        let expected = SGEMMTests.reference(a, b, m: m, n: n, k: k)
        let worst = zip(once, expected).map { abs(Double($0) - $1) }.max() ?? 0
        #expect(worst <= 1e-5 * Double(k) + 1e-5, "\(kernel) \(m)x\(n)x\(k) on \(threads) threads")
      }
    }
  }

  private func multiply<Source: GEMMPanelSource>(
    _ source: Source, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, threads: Int,
    _ kernel: SGEMM.Microkernel, _ caches: Int
  ) {
    SGEMM.multiply(
      m: m, n: n, k: k, a: a, lda: k, source: source, c: c, ldc: n, epilogue: .none,
      pool: CPUThreadPool(threads: threads), microkernel: kernel, caches: SGEMMMicrokernelTests.caches[caches])
  }

  @Test("the cache keeps one packing: the same for the same matrix, none for another address or shape")
  func cache() {
    let b = SGEMMTests.random(8 * 40, seed: 11), other = SGEMMTests.random(8 * 40, seed: 12)
    b.withUnsafeBufferPointer { b in
      other.withUnsafeBufferPointer { other in
        let cache = ConstantCache<GEMMPackedB>()
        let first = cache.packed(b.baseAddress!, ldb: 40, k: 8, n: 40, nr: 32)
        #expect(first != nil)
        #expect(cache.packed(b.baseAddress!, ldb: 40, k: 8, n: 40, nr: 32) === first)
        #expect(cache.packed(other.baseAddress!, ldb: 40, k: 8, n: 40, nr: 32) == nil)
        #expect(cache.packed(b.baseAddress!, ldb: 40, k: 8, n: 40, nr: 16) == nil)
      }
    }
  }
}
