/// An element type SGEMM can read its B operand from (f32 or f16 weights), widened to `Float`
/// while packing. The requirement copies a whole run of elements, so an unspecialised caller (a
/// public generic entry point called from another module) pays one witness call per run, not
/// one per element.
public protocol GEMMElement: Sendable {
  /// Writes `count` elements from `source`, as `Float`, to `target`.
  static func widen(_ source: UnsafePointer<Self>, count: Int, into target: UnsafeMutablePointer<Float>)
}

extension Float: GEMMElement {
  /// Copies.
  @inline(__always)
  public static func widen(_ source: UnsafePointer<Float>, count: Int, into target: UnsafeMutablePointer<Float>) {
    target.update(from: source, count: count)
  }
}

extension Float16: GEMMElement {
  /// Widens exactly.
  @inline(__always)
  public static func widen(_ source: UnsafePointer<Float16>, count: Int, into target: UnsafeMutablePointer<Float>) {
    for j in 0..<count { target[j] = Float(source[j]) }
  }
}

/// Copies blocks of A and B into the contiguous, zero-padded micro-panels the microkernel reads.
enum GEMMPacking {
  /// Packs `rows × depth` of row-major A (row stride `lda`) into micro-panels of `mr` rows (the
  /// microkernel's): for each panel, each k, `mr` consecutive floats (zero past `rows`). With
  /// twelve-row micro-panels (``GEMMTile12x32``'s), whole panels go through
  /// ``GEMMTwelveRowPacking`` sixteen depths at a time.
  @inline(__always)
  static func packA(
    _ a: UnsafePointer<Float>, lda: Int, rows: Int, depth: Int, mr: Int, into packed: UnsafeMutablePointer<Float>
  ) {
    for panel in stride(from: 0, to: rows, by: mr) {
      let height = Swift.min(mr, rows - panel)
      let out = packed + panel * depth
      if height == mr {
        // k outer: `mr` sequential read streams, contiguous writes.
        var source = a + panel * lda, target = out
        var remaining = depth
        if mr == 12 {
          while remaining >= 16 {
            GEMMTwelveRowPacking.pack(source, lda: lda, into: target)
            source += 16
            target += 16 * 12
            remaining -= 16
          }
        }
        for _ in 0..<remaining {
          for r in 0..<mr { target[r] = source[r &* lda] }
          source += 1
          target += mr
        }
      } else {
        out.update(repeating: 0, count: depth * mr)
        for r in 0..<height {
          let row = a + (panel + r) * lda
          for p in 0..<depth { out[p &* mr &+ r] = row[p] }
        }
      }
    }
  }

  /// Packs `depth × columns` of row-major B (row stride `ldb`) into micro-panels of `nr` columns
  /// (the microkernel's): for each panel, each k, `nr` consecutive floats (zero past `columns`),
  /// row `p` multiplied by `rowScales[p]` where there are scales.
  @inline(__always)
  static func packB<Element: GEMMElement>(
    _ b: UnsafePointer<Element>, ldb: Int, depth: Int, columns: Int, nr: Int, into packed: UnsafeMutablePointer<Float>,
    rowScales: UnsafePointer<Float>? = nil
  ) {
    let fullWidth = columns / nr * nr, panelStride = depth * nr
    // Row by row, so B is read sequentially (a panel-by-panel walk reads 128 bytes per row at a
    // stride of `ldb`, which defeats the prefetcher and thrashes one L1 set when `ldb` is a
    // multiple of 1024).
    for p in 0..<depth {
      let row = b + p * ldb
      var out = packed + p * nr
      for panel in stride(from: 0, to: fullWidth, by: nr) {
        Element.widen(row + panel, count: nr, into: out)
        out += panelStride
      }
      if fullWidth < columns {
        Element.widen(row + fullWidth, count: columns - fullWidth, into: out)
        (out + columns - fullWidth).update(repeating: 0, count: nr - (columns - fullWidth))
      }
      if let rowScales {
        scale(packed + p * nr, panels: (columns + nr - 1) / nr, nr: nr, stride: panelStride, by: rowScales[p])
      }
    }
  }

  /// Multiplies `nr` floats (a multiple of 16) at `start` and at each `stride` after it,
  /// `panels` times, by `factor`.
  @inline(__always)
  private static func scale(_ start: UnsafeMutablePointer<Float>, panels: Int, nr: Int, stride: Int, by factor: Float) {
    let raw = UnsafeMutableRawPointer(start)
    for panel in 0..<panels {
      for lane in Swift.stride(from: 0, to: nr, by: 16) {
        let offset = (panel * stride + lane) * 4
        raw.storeBytes(
          of: raw.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self) * factor, toByteOffset: offset,
          as: SIMD16<Float>.self)
      }
    }
  }
}
