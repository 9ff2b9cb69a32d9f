import TesseraRuntime
import Testing

@testable import TesseraCPU

/// Every SGEMM microkernel on every machine (whichever the build prefers), and the block sizes
/// derived from cache sizes.
@Suite("SGEMM microkernels and cache blocking")
struct SGEMMMicrokernelTests {
  static let caches = [CacheSizes.host, CacheSizes(level1: 4096, level2: 32768)]

  @Test(
    "each microkernel, on the host's caches and on tiny ones, B packed or read where it lies, against a Double reference",
    arguments: SGEMM.Microkernel.allCases, Self.caches.indices)
  func microkernel(kernel: SGEMM.Microkernel, caches: Int) {
    for (m, n, k) in gemmShapes {
      for (threads, inPlace) in [(1, false), (3, false), (1, true), (3, true)] {
        let a = SGEMMTests.random(m * k, seed: 5), b = SGEMMTests.random(k * n, seed: 6)
        var c = [Float](repeating: .nan, count: m * n)
        a.withUnsafeBufferPointer { a in
          b.withUnsafeBufferPointer { b in
            c.withUnsafeMutableBufferPointer { c in
              SGEMM.multiply(
                m: m, n: n, k: k, a: a.baseAddress!, lda: k,
                source: GEMMMatrixSource(b: b.baseAddress!, ldb: n, readInPlace: inPlace),
                c: c.baseAddress!, ldc: n, epilogue: .none, pool: CPUThreadPool(threads: threads),
                microkernel: kernel, caches: Self.caches[caches])
            }
          }
        }
        let expected = SGEMMTests.reference(a, b, m: m, n: n, k: k)
        let worst = zip(c, expected).map { abs(Double($0) - $1) }.max() ?? 0
        #expect(
          worst <= 1e-5 * Double(k) + 1e-5, "\(kernel) \(m)x\(n)x\(k) on \(threads) threads, B in place: \(inPlace)")
      }
    }
  }

  @Test(
    "an edge tile of the 12×32 microkernel: the rows and columns asked for, from a packed panel or B's own rows, against a Double reference",
    arguments: Array(1...12), [1, 4, 16, 17, 31, 32])
  func edgeTile(rows: Int, columns: Int) {
    let depth = 37
    // A packed, twelve floats a step (rows past `rows` hold values, never read back); B as a
    // packed micro-panel (32 floats a step, 64-byte aligned) and as rows 37 floats apart read
    // where they lie, one float past a 64-byte boundary.
    let a = SGEMMTests.random(12 * depth, seed: UInt64(rows)), b = SGEMMTests.random(37 * depth + 1, seed: 7)
    let storage = UnsafeMutableRawPointer.allocate(byteCount: b.count * 4, alignment: 64)
    defer { storage.deallocate() }
    for (rowBytes, offset) in [(32 * 4, 0), (37 * 4, 4)] {
      let step = rowBytes / 4
      b.withUnsafeBytes { (storage + offset).copyMemory(from: $0.baseAddress!, byteCount: step * depth * 4) }
      var c = [Float](repeating: .nan, count: 12 * 32)
      a.withUnsafeBufferPointer { a in
        c.withUnsafeMutableBufferPointer { c in
          GEMMTile12x32.edgeTile(
            rows: rows, columns: columns, depth: depth, a: a.baseAddress!, b: storage + offset, bStride: rowBytes,
            c: c.baseAddress!, ldc: 32)
        }
      }
      for i in 0..<rows {
        for j in 0..<columns {
          let expected = (0..<depth).reduce(0.0) { $0 + Double(a[$1 * 12 + i]) * Double(b[$1 * step + j]) }
          #expect(
            abs(Double(c[i * 32 + j]) - expected) <= 1e-4, "row \(i), column \(j), B rows \(rowBytes) bytes apart")
        }
      }
    }
  }

  @Test("block sizes follow the caches: A micro-panel in half of L1, B block in half of L2, A block four L2s")
  func blocking() {
    // Emerald Rapids: 48 KiB L1d, 2 MiB L2; 12×32 tile. 24576 / 48 = 512 → capped at 384;
    // rows 8388608 / (384·4) = 5461 → 5460 (a multiple of 12); columns 1048576 / (384·4) = 682 → 672.
    #expect(
      SGEMM.Blocking(mr: 12, nr: 32, caches: CacheSizes(level1: 48 << 10, level2: 2 << 20))
        == .init(depth: 384, rows: 5460, columns: 672))
    // Zen 1: 32 KiB L1d, 512 KiB L2; 6×16 tile. 16384 / 24 = 682 → 384;
    // rows 2097152 / 1536 = 1365 → 1362; columns 262144 / 1536 = 170 → 160.
    #expect(
      SGEMM.Blocking(mr: 6, nr: 16, caches: CacheSizes(level1: 32 << 10, level2: 512 << 10))
        == .init(depth: 384, rows: 1362, columns: 160))
    // Tiny caches keep the smallest depth, 64; rows 131072 / 256 = 512 → 504; columns
    // 16384 / 256 = 64.
    #expect(
      SGEMM.Blocking(mr: 12, nr: 32, caches: CacheSizes(level1: 4096, level2: 32768))
        == .init(depth: 64, rows: 504, columns: 64))
  }

  @Test(
    "several blocks of rows, columns and depth (tiny caches) with a bias and relu fused: each element's epilogue applied once, after its last depth block",
    arguments: SGEMM.Microkernel.allCases, [1, 3])
  func epilogueOverBlocks(kernel: SGEMM.Microkernel, threads: Int) {
    // 530 rows: blocks of 504 and 26; 70 columns: 64 and 6; depth 150: 64, 64 and 22.
    let (m, n, k) = (530, 70, 150)
    let a = SGEMMTests.random(m * k, seed: 9), b = SGEMMTests.random(k * n, seed: 10)
    let bias = SGEMMTests.random(m, seed: 11)
    var c = [Float](repeating: .nan, count: m * n)
    bias.withUnsafeBufferPointer { bias in
      SGEMM.multiply(
        m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &c, ldc: n,
        epilogue: GEMMEpilogue(rowBias: bias.baseAddress, activation: .relu), pool: CPUThreadPool(threads: threads),
        microkernel: kernel, caches: CacheSizes(level1: 4096, level2: 32768))
    }
    let product = SGEMMTests.reference(a, b, m: m, n: n, k: k)
    var mismatches = 0
    for i in 0..<m {
      for j in 0..<n where !(abs(Double(c[i * n + j]) - max(product[i * n + j] + Double(bias[i]), 0)) <= 1e-3) {
        mismatches += 1
      }
    }
    #expect(mismatches == 0, "\(kernel) on \(threads) threads")
  }
}
