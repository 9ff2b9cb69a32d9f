/// An element type SGEMM can read its B operand from (f32 or f16 weights), widened to `Float`
/// while packing.
public protocol GEMMElement: Sendable {
  /// The value as `Float`.
  var gemmFloat: Float { get }
}

extension Float: GEMMElement {
  /// Itself.
  @inline(__always) public var gemmFloat: Float { self }
}

extension Float16: GEMMElement {
  /// Widened exactly.
  @inline(__always) public var gemmFloat: Float { Float(self) }
}

/// Copies blocks of A and B into the contiguous, zero-padded micro-panels the microkernel reads.
enum GEMMPacking {
  /// Packs `rows × depth` of row-major A (row stride `lda`) into micro-panels of
  /// ``GEMMMicrokernel/rows`` rows: for each panel, each k, 12 consecutive floats (zero past `rows`).
  static func packA(
    _ a: UnsafePointer<Float>, lda: Int, rows: Int, depth: Int, into packed: UnsafeMutablePointer<Float>
  ) {
    let mr = GEMMMicrokernel.rows
    for panel in stride(from: 0, to: rows, by: mr) {
      let height = Swift.min(mr, rows - panel)
      let out = packed + panel * depth
      // Row by row: each source row is read contiguously, written with stride `mr`.
      for r in 0..<height {
        let row = a + (panel + r) * lda
        for p in 0..<depth { out[p * mr + r] = row[p] }
      }
      for r in height..<mr {
        for p in 0..<depth { out[p * mr + r] = 0 }
      }
    }
  }

  /// Packs `depth × columns` of row-major B (row stride `ldb`) into micro-panels of
  /// ``GEMMMicrokernel/columns`` columns: for each panel, each k, 32 consecutive floats (zero past
  /// `columns`).
  static func packB<Element: GEMMElement>(
    _ b: UnsafePointer<Element>, ldb: Int, depth: Int, columns: Int, into packed: UnsafeMutablePointer<Float>
  ) {
    let nr = GEMMMicrokernel.columns
    var out = packed
    for panel in stride(from: 0, to: columns, by: nr) {
      let width = Swift.min(nr, columns - panel)
      for p in 0..<depth {
        let row = b + p * ldb + panel
        if width == nr {
          for j in 0..<nr { out[j] = row[j].gemmFloat }
        } else {
          for j in 0..<nr { out[j] = j < width ? row[j].gemmFloat : 0 }
        }
        out += nr
      }
    }
  }
}
