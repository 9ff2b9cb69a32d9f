import TesseraRuntime
import TesseraTestSupport
import Testing

@testable import TesseraCPU

@Suite("Small batched matmuls (decode attention) against a plain loop")
struct SmallMatmulTests {
  /// (rows of A, columns n, depth k, products, B's row stride beyond n): columns in whole and
  /// partial 16-lane groups, a padded B (a KV cache row holding several heads).
  static let cases: [(m: Int, n: Int, k: Int, products: Int, padding: Int)] = [
    (1, 64, 200, 9, 128), (3, 100, 70, 2, 0), (4, 17, 5, 3, 7), (2, 144, 129, 1, 16), (1, 15, 64, 4, 1),
  ]

  @Test(
    "row-major B: every element equals one FMA per row of B in order, as a plain loop computes it",
    arguments: cases.indices)
  func rowMajorB(index: Int) {
    let (m, n, k, products, padding) = Self.cases[index]
    let ldb = n + padding
    var generator = SeededRandom(seed: UInt64(50 + index))
    let a = (0..<(products * m * k)).map { _ in Float.random(in: -1..<1, using: &generator) }
    let b = (0..<(products * k * ldb)).map { _ in Float.random(in: -1..<1, using: &generator) }
    var c = [Float](repeating: .nan, count: products * m * n)
    a.withUnsafeBufferPointer { a in
      b.withUnsafeBufferPointer { b in
        c.withUnsafeMutableBufferPointer { c in
          let batch = SmallMatmul.Batch(
            a: (0..<products).map { a.baseAddress! + $0 * m * k },
            b: (0..<products).map { b.baseAddress! + $0 * k * ldb },
            c: (0..<products).map { c.baseAddress! + $0 * m * n })
          SmallMatmul.rowMajorB(batch, products: 0..<products, m: m, n: n, k: k, ldb: ldb)
        }
      }
    }
    for t in 0..<products {
      for i in 0..<m {
        for j in 0..<n {
          var expected: Float = 0
          for p in 0..<k { expected = expected.addingProduct(a[t * m * k + i * k + p], b[t * k * ldb + p * ldb + j]) }
          #expect(c[t * m * n + i * n + j] == expected, "product \(t) row \(i) column \(j)")
        }
      }
    }
  }

  /// Column-major B for one product of one row (a matrix–vector product, four columns at a
  /// time): over a band of columns that leaves a last group of one, two or three, with depths of
  /// whole vectors and a tail, of a tail alone, and of whole vectors alone. Each column's sum is
  /// the one the general loop computes (the same product twice in a batch takes it), and within
  /// rounding of a plain Double loop.
  @Test(
    "column-major B for one row equals the general loop and a plain loop",
    arguments: [(200, 3..<18), (5, 0..<7), (48, 1..<10), (129, 0..<4)])
  func columnMajorOneRow(k: Int, columns: Range<Int>) {
    let (n, ldb) = (20, k + 3)
    var generator = SeededRandom(seed: UInt64(70 + k))
    let a = (0..<k).map { _ in Float.random(in: -1..<1, using: &generator) }
    let b = (0..<(n * ldb)).map { _ in Float.random(in: -1..<1, using: &generator) }
    var (one, general) = ([Float](repeating: .nan, count: n), [Float](repeating: .nan, count: 2 * n))
    a.withUnsafeBufferPointer { a in
      b.withUnsafeBufferPointer { b in
        one.withUnsafeMutableBufferPointer { c in
          let batch = SmallMatmul.Batch(a: [a.baseAddress!], b: [b.baseAddress!], c: [c.baseAddress!])
          SmallMatmul.columnMajorB(batch, columns: columns, m: 1, n: n, k: k, ldb: ldb)
        }
        general.withUnsafeMutableBufferPointer { c in
          let batch = SmallMatmul.Batch(
            a: [a.baseAddress!, a.baseAddress!], b: [b.baseAddress!, b.baseAddress!],
            c: [c.baseAddress!, c.baseAddress! + n])
          SmallMatmul.columnMajorB(batch, columns: columns, m: 1, n: n, k: k, ldb: ldb)
        }
      }
    }
    for j in 0..<n {
      guard columns.contains(j) else {
        #expect(one[j].isNaN, "column \(j) is outside the band")
        continue
      }
      #expect(one[j].bitPattern == general[j].bitPattern, "column \(j)")
      var (expected, magnitude) = (0.0, 0.0)
      for p in 0..<k {
        expected += Double(a[p]) * Double(b[j * ldb + p])
        magnitude += abs(Double(a[p]) * Double(b[j * ldb + p]))
      }
      #expect(abs(Double(one[j]) - expected) <= 1e-6 * magnitude + 1e-30, "column \(j)")
    }
  }

  /// One product of at most four rows with a large row-major B (n·k past 2^16) on several
  /// threads: the threads take bands of C's columns (rows of C `n` apart in each band), and the
  /// result is the reference evaluator's.
  @Test("one large product on 3 threads, in bands of columns, matches the reference", arguments: [1, 3])
  func columnBands(rows: Int) throws {
    let text = """
      func @f(%x: f32[\(rows),300], %w: f32[300,250]) -> f32[\(rows),250] {
        %y = matmul %x, %w : f32[\(rows),250]
        return %y
      }
      """
    let (routes, ratio) = try CPUVersusReference.compare(text, threads: 3, seed: 43, atol: 1e-4, rtol: 1e-5)
    #expect(ratio <= 1)
    #expect(routes.count == 1)
  }
}
