/// A constant B packed once, whole, into the microkernel's column micro-panels: for each panel
/// of `nr` columns, each of the `k` rows, `nr` consecutive floats (zero past `n`). ``SGEMM``
/// reads its blocks in place (``GEMMPackedSource``) instead of packing B on every run: a
/// transformer's weight matrices took about a sixth of its SGEMM time being packed (BERT on
/// `cpu`). It costs a second copy of B. `@unchecked Sendable`: written once in `init`, only
/// read after.
final class GEMMPackedB: @unchecked Sendable {
  /// Rows of B.
  let k: Int
  /// Columns of B.
  let n: Int
  /// Columns per micro-panel: the microkernel's.
  let nr: Int
  private let storage: UnsafeMutablePointer<Float>

  /// Packs the `k × n` row-major `b` (row stride `ldb`) for a microkernel `nr` columns wide.
  init(b: UnsafePointer<Float>, ldb: Int, k: Int, n: Int, nr: Int) {
    (self.k, self.n, self.nr) = (k, n, nr)
    // 64-byte aligned, as the microkernel's vector loads of B's micro-panels are.
    let count = Swift.max(1, (n + nr - 1) / nr * nr * k)
    let panels = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64)
      .bindMemory(to: Float.self, capacity: count)
    GEMMPacking.packB(b, ldb: ldb, depth: k, columns: n, nr: nr, into: panels)
    storage = panels
  }

  /// Where the micro-panel holding column `column` (a multiple of ``nr``) starts at row `row`,
  /// and the distance from one micro-panel to the next.
  func panels(row: Int, column: Int) -> (start: UnsafePointer<Float>, panelStride: Int) {
    (UnsafePointer(storage) + column / nr * k * nr + row * nr, k * nr)
  }

  deinit { storage.deallocate() }
}

extension ConstantCache where Value == GEMMPackedB {
  /// The kept packing of the constant `b`, packed now when there is none; nil when the cache
  /// holds another address's or another shape's (the caller then packs for this run alone).
  func packed(_ b: UnsafePointer<Float>, ldb: Int, k: Int, n: Int, nr: Int) -> GEMMPackedB? {
    value(for: b, fits: { $0.k == k && $0.n == n && $0.nr == nr }) {
      GEMMPackedB(b: b, ldb: ldb, k: k, n: n, nr: nr)
    }
  }
}

/// B read from a ``GEMMPackedB``: its blocks are handed to the microkernel where they lie.
struct GEMMPackedSource: GEMMPanelSource {
  let packed: GEMMPackedB

  /// Copies the block's micro-panels out of the packed B (for a microkernel of another width
  /// only; ``packedPanels(row:column:nr:)`` serves the one it was packed for).
  func pack(row: Int, depth: Int, column: Int, columns: Int, nr: Int, into packed: UnsafeMutablePointer<Float>) {
    precondition(nr == self.packed.nr, "GEMMPackedSource: packed for \(self.packed.nr) columns, asked for \(nr)")
    let (start, panelStride) = self.packed.panels(row: row, column: column)
    for panel in 0..<((columns + nr - 1) / nr) {
      (packed + panel * depth * nr).update(from: start + panel * panelStride, count: depth * nr)
    }
  }

  /// The packed micro-panels themselves, when they were packed `nr` wide.
  func packedPanels(row: Int, column: Int, nr: Int) -> (start: UnsafePointer<Float>, panelStride: Int)? {
    nr == packed.nr ? packed.panels(row: row, column: column) : nil
  }
}
