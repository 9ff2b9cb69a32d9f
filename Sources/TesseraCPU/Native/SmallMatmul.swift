/// `C = A · B` for a few rows of A (decode attention: one token's query rows per head) with B
/// read where it lies, either layout: no packing, one thread, f32 accumulation, independent
/// accumulator chains so the FMAs overlap.
enum SmallMatmul {
  /// Rows of A up to which these kernels beat packing B for the SGEMM.
  static let maxRows = 4

  /// B row-major: `B[p, j]` at `b[p · ldb + j]`. Each row of C accumulates `A[i, p] · B[p, :]`,
  /// 64 columns (four vectors) at a time.
  static func rowMajorB(
    m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    let source = UnsafeRawPointer(b)
    for i in 0..<m {
      let out = UnsafeMutableRawPointer(c + i * ldc), row = a + i * lda
      var j = 0
      while j + 64 <= n {
        var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>(), s3 = SIMD16<Float>()
        for p in 0..<k {
          let x = SIMD16<Float>(repeating: row[p]), offset = 4 * (p * ldb + j)
          s0 = s0.addingProduct(source.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self), x)
          s1 = s1.addingProduct(source.loadUnaligned(fromByteOffset: offset + 64, as: SIMD16<Float>.self), x)
          s2 = s2.addingProduct(source.loadUnaligned(fromByteOffset: offset + 128, as: SIMD16<Float>.self), x)
          s3 = s3.addingProduct(source.loadUnaligned(fromByteOffset: offset + 192, as: SIMD16<Float>.self), x)
        }
        out.storeBytes(of: s0, toByteOffset: 4 * j, as: SIMD16<Float>.self)
        out.storeBytes(of: s1, toByteOffset: 4 * j + 64, as: SIMD16<Float>.self)
        out.storeBytes(of: s2, toByteOffset: 4 * j + 128, as: SIMD16<Float>.self)
        out.storeBytes(of: s3, toByteOffset: 4 * j + 192, as: SIMD16<Float>.self)
        j += 64
      }
      for column in j..<n {
        var sum: Float = 0
        for p in 0..<k { sum = sum.addingProduct(row[p], b[p * ldb + column]) }
        c[i * ldc + column] = sum
      }
    }
  }

  /// B column-major (a transposed view): `B[p, j]` at `b[j · ldb + p]`. Each column of B is
  /// loaded once and dotted with every row of A (one accumulator per row).
  static func columnMajorB(
    m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    precondition(m <= maxRows, "SmallMatmul: \(m) rows")
    let rows = UnsafeRawPointer(a), vectorEnd = k / 16 * 16
    for j in 0..<n {
      let column = UnsafeRawPointer(b + j * ldb)
      var sums = (SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>())
      for p in stride(from: 0, to: vectorEnd, by: 16) {
        let w = column.loadUnaligned(fromByteOffset: 4 * p, as: SIMD16<Float>.self)
        @inline(__always) func row(_ i: Int) -> SIMD16<Float> {
          rows.loadUnaligned(fromByteOffset: 4 * (i * lda + p), as: SIMD16<Float>.self)
        }
        sums.0 = sums.0.addingProduct(row(0), w)
        if m > 1 { sums.1 = sums.1.addingProduct(row(1), w) }
        if m > 2 { sums.2 = sums.2.addingProduct(row(2), w) }
        if m > 3 { sums.3 = sums.3.addingProduct(row(3), w) }
      }
      for i in 0..<m {
        var total = horizontalSum(i == 0 ? sums.0 : i == 1 ? sums.1 : i == 2 ? sums.2 : sums.3)
        for p in vectorEnd..<k { total = total.addingProduct(a[i * lda + p], b[j * ldb + p]) }
        c[i * ldc + j] = total
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
