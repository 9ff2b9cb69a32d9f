import TesseraRuntime
import Testing

@testable import TesseraCPU

/// A constant A packed once (``GEMMPackedA``, a convolution's weights) and read in place by the
/// SGEMM.
@Suite("SGEMM with A packed once")
struct GEMMPackedATests {
  @Test(
    "each microkernel, on the host's caches and on tiny ones: equal to A packed on every run, and to a Double reference",
    arguments: SGEMM.Microkernel.allCases, SGEMMMicrokernelTests.caches.indices)
  func packedOnce(kernel: SGEMM.Microkernel, caches: Int) {
    for (m, n, k) in gemmShapes {
      for threads in [1, 3] {
        let a = SGEMMTests.random(m * k, seed: 13), b = SGEMMTests.random(k * n, seed: 14)
        var perRun = [Float](repeating: .nan, count: m * n), once = perRun
        a.withUnsafeBufferPointer { a in
          b.withUnsafeBufferPointer { b in
            let packed = GEMMPackedA(a: a.baseAddress!, lda: k, m: m, k: k, mr: kernel.rows)
            perRun.withUnsafeMutableBufferPointer { c in
              multiply(
                m: m, n: n, k: k, a: a.baseAddress!, b: b.baseAddress!, c: c.baseAddress!, packedA: nil,
                threads: threads, kernel, caches)
            }
            once.withUnsafeMutableBufferPointer { c in
              multiply(
                m: m, n: n, k: k, a: a.baseAddress!, b: b.baseAddress!, c: c.baseAddress!, packedA: packed,
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

  private func multiply(
    m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>,
    packedA: GEMMPackedA?, threads: Int, _ kernel: SGEMM.Microkernel, _ caches: Int
  ) {
    SGEMM.multiply(
      m: m, n: n, k: k, a: a, lda: k, source: GEMMMatrixSource(b: b, ldb: n), c: c, ldc: n, epilogue: .none,
      pool: CPUThreadPool(threads: threads), microkernel: kernel, caches: SGEMMMicrokernelTests.caches[caches],
      packedA: packedA)
  }

  @Test("the cache keeps one packing: the same for the same matrix, none for another address or shape")
  func cache() {
    let a = SGEMMTests.random(40 * 8, seed: 15), other = SGEMMTests.random(40 * 8, seed: 16)
    a.withUnsafeBufferPointer { a in
      other.withUnsafeBufferPointer { other in
        let cache = ConstantCache<GEMMPackedA>()
        let first = cache.packed(a.baseAddress!, lda: 8, m: 40, k: 8, mr: 12)
        #expect(first != nil)
        #expect(cache.packed(a.baseAddress!, lda: 8, m: 40, k: 8, mr: 12) === first)
        #expect(cache.packed(other.baseAddress!, lda: 8, m: 40, k: 8, mr: 12) == nil)
        #expect(cache.packed(a.baseAddress!, lda: 8, m: 40, k: 8, mr: 6) == nil)
      }
    }
  }
}
