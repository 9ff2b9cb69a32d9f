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
}

extension GEMMPanelSource {
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

  /// Packs the block with ``GEMMPacking/packB(_:ldb:depth:columns:nr:into:rowScales:)``.
  @inline(__always)
  func pack(row: Int, depth: Int, column: Int, columns: Int, nr: Int, into packed: UnsafeMutablePointer<Float>) {
    GEMMPacking.packB(
      b + row * ldb + column, ldb: ldb, depth: depth, columns: columns, nr: nr, into: packed,
      rowScales: rowScales.map { $0 + row })
  }
}
