/// Where ``SGEMM`` reads its B operand from: something that packs any `depth × columns` block of a
/// (possibly implicit) `k × n` matrix into the microkernel's micro-panels, as
/// ``GEMMPacking/packB(_:ldb:depth:columns:nr:into:)`` does for a stored matrix. A convolution's
/// im2col matrix is such a source (``ConvolutionColumns``): it is packed from the image directly,
/// never stored.
protocol GEMMPanelSource: Sendable {
  /// Packs rows `row..<row + depth` and columns `column..<column + columns` of B into micro-panels
  /// of `nr` columns: for each panel, each k, `nr` consecutive floats (zero past `columns`).
  func pack(row: Int, depth: Int, column: Int, columns: Int, nr: Int, into packed: UnsafeMutablePointer<Float>)
  /// Micro-panels of `nr` columns already packed, from column `column` (a multiple of `nr`) and
  /// row `row` on, and the distance between consecutive ones; nil when the source must be
  /// packed (``GEMMPackedSource`` is the one that is not).
  func packedPanels(row: Int, column: Int, nr: Int) -> (start: UnsafePointer<Float>, panelStride: Int)?
  /// B's f32 element at row `row` and column `column` where the product reads it where it lies
  /// (its whole micro-panels; a last partial one is packed), and the bytes between two rows;
  /// nil when it is packed.
  func inPlace(row: Int, column: Int) -> (start: UnsafeRawPointer, rowBytes: Int)?
}

extension GEMMPanelSource {
  /// None: the block is packed.
  func inPlace(row: Int, column: Int) -> (start: UnsafeRawPointer, rowBytes: Int)? { nil }

  /// None: the block is packed.
  func packedPanels(row: Int, column: Int, nr: Int) -> (start: UnsafePointer<Float>, panelStride: Int)? { nil }
}

/// A stored row-major B (row stride `ldb`), f32 or f16, each row multiplied by its scale where
/// there are `rowScales` (a 1x1 convolution's input channels scaled by a squeeze-and-excitation
/// gate). `@unchecked Sendable`: it is only read.
struct GEMMMatrixSource<Element: GEMMElement>: GEMMPanelSource, @unchecked Sendable {
  /// B's first element.
  let b: UnsafePointer<Element>
  /// Elements between the starts of two rows.
  let ldb: Int
  /// A scale per row of B, or nil.
  var rowScales: UnsafePointer<Float>? = nil
  /// Whether the product reads B where it lies rather than packing it (``inPlace(row:column:)``):
  /// a 1x1 convolution's image, whose every element a few rows of weights multiply, so packing
  /// it cost a large share of the product.
  var readInPlace = false

  /// B itself where ``readInPlace`` and it is f32 without scales, its rows not a multiple of
  /// 4 KiB apart (which would put every row's step in the same cache sets).
  func inPlace(row: Int, column: Int) -> (start: UnsafeRawPointer, rowBytes: Int)? {
    guard readInPlace, Element.self == Float.self, rowScales == nil, ldb % 1024 != 0 else { return nil }
    return (UnsafeRawPointer(b + row * ldb + column), ldb * MemoryLayout<Element>.stride)
  }

  /// Packs the block with ``GEMMPacking/packB(_:ldb:depth:columns:nr:into:rowScales:)``.
  @inline(__always)
  func pack(row: Int, depth: Int, column: Int, columns: Int, nr: Int, into packed: UnsafeMutablePointer<Float>) {
    GEMMPacking.packB(
      b + row * ldb + column, ldb: ldb, depth: depth, columns: columns, nr: nr, into: packed,
      rowScales: rowScales.map { $0 + row })
  }
}
