/// A constant A packed once, whole, into the microkernel's row micro-panels: for each panel of
/// `mr` rows, each of the `k` columns, `mr` consecutive floats (zero past `m`), as
/// ``GEMMPacking/packA(_:lda:rows:depth:mr:into:)`` packs a block. ``SGEMM`` hands
/// its micro-panels to the microkernel where they lie instead of packing A on every run: a
/// convolution's weights are its A, and on the small images of a network's last layers (7×7
/// outputs) each weight is used 49 times, so packing it took a fifth of the product. Weights
/// larger than the caches come from memory: the microkernel asks for the next panel while it
/// runs the first tile of the current one (`prefetching:`), which without it waited on them
/// (ResNet-18's 512-channel layers ran slower than packing as they go). It costs a second copy
/// of A.
/// `@unchecked Sendable`: written once in `init`, only read after.
final class GEMMPackedA: @unchecked Sendable {
  /// Rows of A.
  let m: Int
  /// Columns of A.
  let k: Int
  /// Rows per micro-panel: the microkernel's.
  let mr: Int
  private let storage: UnsafeMutablePointer<Float>

  /// Packs the `m × k` row-major `a` (row stride `lda`) for a microkernel `mr` rows tall.
  init(a: UnsafePointer<Float>, lda: Int, m: Int, k: Int, mr: Int) {
    (self.m, self.k, self.mr) = (m, k, mr)
    let count = Swift.max(1, (m + mr - 1) / mr * mr * k)
    storage = .allocate(capacity: count)
    GEMMPacking.packA(a, lda: lda, rows: m, depth: k, mr: mr, into: storage)
  }

  /// The micro-panel of rows `row ..< row + mr` (`row` a multiple of ``mr``) from column
  /// `column` on.
  func panel(row: Int, column: Int) -> UnsafePointer<Float> {
    UnsafePointer(storage) + row * k + column * mr
  }

  deinit { storage.deallocate() }
}

extension ConstantCache where Value == GEMMPackedA {
  /// The kept packing of the constant `a`, packed now when there is none; nil when the cache
  /// holds another address's or another shape's (the caller then packs for this run alone).
  func packed(_ a: UnsafePointer<Float>, lda: Int, m: Int, k: Int, mr: Int) -> GEMMPackedA? {
    value(for: a, fits: { $0.m == m && $0.k == k && $0.mr == mr }) {
      GEMMPackedA(a: a, lda: lda, m: m, k: k, mr: mr)
    }
  }
}
