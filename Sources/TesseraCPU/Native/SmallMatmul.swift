import CTesseraSIMD

/// `C_t = A_t · B_t` for a batch of products with a few rows of A each (decode attention: one
/// token's query rows per head) and B read where it lies, either layout: no packing, f32
/// accumulation. The loops run over B in memory order across the whole batch, so a KV cache whose
/// rows hold every head's slice is read in one sequential pass, not one strided pass per head.
enum SmallMatmul {
  /// Rows of A up to which these kernels beat packing B for the SGEMM.
  static let maxRows = 4

  /// The operands of a batch: `a[t]` (`m × k`, row stride `k`), `b[t]` (B's origin), `c[t]`
  /// (`m × n`, row stride `n`). `@unchecked Sendable`: threads write disjoint parts of the `c`s
  /// and only read the rest.
  struct Batch: @unchecked Sendable {
    let a: [UnsafePointer<Float>]
    let b: [UnsafePointer<Float>]
    let c: [UnsafeMutablePointer<Float>]
  }

  /// B row-major (`B[p, j]` at `b[p · ldb + j]`) for the products `products` of `batch`: C is
  /// cleared, then for each row `p` of B (every product's, adjacent in memory) each row of C
  /// accumulates `A[i, p] · B[p, :]`. C's rows are `ldc` floats apart (`n` unless given: a
  /// band of C's columns, with B's and C's pointers at the band's first column).
  ///
  /// Four rows of B go together, each element of C loaded and stored once for all four (its
  /// sums still added in the order of `p`), and the rows four ahead are prefetched as these are
  /// read. One row at a time, C's loads and stores outnumbered B's loads two to one, and
  /// MobileNetV3-Small's classifier (1×1024 · 1024×1000, 4 MB of weights mostly out of cache)
  /// took 0.12 ms where onnxruntime took 0.074.
  static func rowMajorB(_ batch: Batch, products: Range<Int>, m: Int, n: Int, k: Int, ldb: Int, ldc: Int? = nil) {
    let ldc = ldc ?? n
    for t in products {
      for i in 0..<m { (batch.c[t] + i * ldc).update(repeating: 0, count: n) }
    }
    var p = 0
    while p &+ 4 <= k {
      for t in products { accumulate(Quad.self, batch, t, p: p, m: m, n: n, k: k, ldb: ldb, ldc: ldc) }
      p &+= 4
    }
    while p < k {
      for t in products { accumulate(Single.self, batch, t, p: p, m: m, n: n, k: k, ldb: ldb, ldc: ldc) }
      p &+= 1
    }
  }

  /// Rows of B ``accumulate(_:_:_:p:m:n:k:ldb:ldc:)`` adds at once.
  private protocol RowGroup { static var rows: Int { get } }
  private enum Single: RowGroup { static var rows: Int { 1 } }
  private enum Quad: RowGroup { static var rows: Int { 4 } }

  /// `C_t[i, :] += Σ A_t[i, q] · B_t[q, :]` over `q` in `p ..< p + Group.rows`, added in that
  /// order; prefetches as many rows of B after them.
  @inline(__always)
  private static func accumulate<Group: RowGroup>(
    _ group: Group.Type, _ batch: Batch, _ t: Int, p: Int, m: Int, n: Int, k: Int, ldb: Int, ldc: Int
  ) {
    let rows = Group.rows, vectorEnd = n / 16 * 16
    let b = batch.b[t] + p &* ldb, row = UnsafeRawPointer(b), rowBytes = 4 &* ldb
    let ahead = row + rows &* rowBytes
    for i in 0..<m {
      let x = batch.a[t] + (i &* k &+ p), out = UnsafeMutableRawPointer(batch.c[t] + i &* ldc)
      for j in stride(from: 0, to: vectorEnd, by: 16) {
        var sum = out.loadUnaligned(fromByteOffset: 4 &* j, as: SIMD16<Float>.self)
        for q in 0..<rows {
          let w = row.loadUnaligned(fromByteOffset: q &* rowBytes &+ 4 &* j, as: SIMD16<Float>.self)
          sum = sum.addingProduct(w, SIMD16(repeating: x[q]))
          if i == 0 { tessera_prefetch(ahead + (q &* rowBytes &+ 4 &* j)) }
        }
        out.storeBytes(of: sum, toByteOffset: 4 &* j, as: SIMD16<Float>.self)
      }
      for j in vectorEnd..<n {
        var sum = batch.c[t][i &* ldc &+ j]
        for q in 0..<rows { sum = sum.addingProduct(x[q], b[q &* ldb &+ j]) }
        batch.c[t][i &* ldc &+ j] = sum
      }
    }
  }

  /// B column-major (a transposed view: `B[p, j]` at `b[j · ldb + p]`) for the columns `columns`
  /// of every product: for each column `j`, each product's column is loaded once and dotted with
  /// every row of its A (one accumulator per row).
  static func columnMajorB(_ batch: Batch, columns: Range<Int>, m: Int, n: Int, k: Int, ldb: Int) {
    precondition(m <= maxRows, "SmallMatmul: \(m) rows")
    if m == 1 && batch.a.count == 1 {
      fourColumns(a: batch.a[0], b: batch.b[0], c: batch.c[0], columns: columns, k: k, ldb: ldb)
      return
    }
    let vectorEnd = k / 16 * 16
    for j in columns {
      for t in batch.a.indices {
        let rows = UnsafeRawPointer(batch.a[t]), column = UnsafeRawPointer(batch.b[t] + j * ldb)
        var sums = (SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>())
        for p in stride(from: 0, to: vectorEnd, by: 16) {
          let w = column.loadUnaligned(fromByteOffset: 4 * p, as: SIMD16<Float>.self)
          @inline(__always) func row(_ i: Int) -> SIMD16<Float> {
            rows.loadUnaligned(fromByteOffset: 4 * (i * k + p), as: SIMD16<Float>.self)
          }
          sums.0 = sums.0.addingProduct(row(0), w)
          if m > 1 { sums.1 = sums.1.addingProduct(row(1), w) }
          if m > 2 { sums.2 = sums.2.addingProduct(row(2), w) }
          if m > 3 { sums.3 = sums.3.addingProduct(row(3), w) }
        }
        for i in 0..<m {
          var total = horizontalSum(i == 0 ? sums.0 : i == 1 ? sums.1 : i == 2 ? sums.2 : sums.3)
          for p in vectorEnd..<k { total = total.addingProduct(batch.a[t][i * k + p], batch.b[t][j * ldb + p]) }
          batch.c[t][i * n + j] = total
        }
      }
    }
  }

  /// ``columnMajorB(_:columns:m:n:k:ldb:)`` for one product of one row (a matrix–vector
  /// product: squeeze-and-excitation's 1x1 convolutions): four columns at a time, each with its
  /// own sum as before, so that four chains of multiply-adds overlap where one left the
  /// multiply-add's latency exposed (MobileNetV3's 576→144 ones ran at 7 GFLOP/s). A last group
  /// of fewer than four computes its last column again in the missing places. The next group's
  /// columns are prefetched as these are read (a hint: past B's end it reads nothing).
  private static func fourColumns(
    a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, columns: Range<Int>, k: Int,
    ldb: Int
  ) {
    let vectorEnd = k / 16 * 16, row = UnsafeRawPointer(a)
    for first in stride(from: columns.lowerBound, to: columns.upperBound, by: 4) {
      let count = Swift.min(4, columns.upperBound - first)
      @inline(__always) func column(_ q: Int) -> UnsafeRawPointer {
        UnsafeRawPointer(b + (first + Swift.min(q, count - 1)) * ldb)
      }
      let (w0, w1, w2, w3) = (column(0), column(1), column(2), column(3))
      var sums = (SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>())
      for p in stride(from: 0, to: vectorEnd, by: 16) {
        for q in 0..<4 { tessera_prefetch(UnsafeRawPointer(b) + 4 &* ((first &+ 4 &+ q) &* ldb &+ p)) }
        let x = row.loadUnaligned(fromByteOffset: 4 * p, as: SIMD16<Float>.self)
        sums.0 = sums.0.addingProduct(x, w0.loadUnaligned(fromByteOffset: 4 * p, as: SIMD16<Float>.self))
        sums.1 = sums.1.addingProduct(x, w1.loadUnaligned(fromByteOffset: 4 * p, as: SIMD16<Float>.self))
        sums.2 = sums.2.addingProduct(x, w2.loadUnaligned(fromByteOffset: 4 * p, as: SIMD16<Float>.self))
        sums.3 = sums.3.addingProduct(x, w3.loadUnaligned(fromByteOffset: 4 * p, as: SIMD16<Float>.self))
      }
      for q in 0..<count {
        var total = horizontalSum(q == 0 ? sums.0 : q == 1 ? sums.1 : q == 2 ? sums.2 : sums.3)
        let w = b + (first + q) * ldb
        for p in vectorEnd..<k { total = total.addingProduct(a[p], w[p]) }
        c[first + q] = total
      }
    }
  }

  /// The lanes' sum as a tree of halves (four dependent adds, where `sum()` chains fifteen).
  @inline(__always)
  static func horizontalSum(_ v: SIMD16<Float>) -> Float {
    let eight = v.lowHalf + v.highHalf, four = eight.lowHalf + eight.highHalf, two = four.lowHalf + four.highHalf
    return two[0] + two[1]
  }
}
