import TesseraIR

/// The im2col matrix of one image and one channel group as a ``GEMMPanelSource``: row
/// `(c·kh + ky)·kw + kx`, column `oy·OW + ox` holds input channel `c` at the position tap
/// `(ky, kx)` of window `(oy, ox)` reads, or 0 in the padding. SGEMM packs it block by block
/// straight into its B micro-panels, so the matrix is never stored.
/// `@unchecked Sendable`: the image is only read.
struct ConvolutionColumns: GEMMPanelSource, @unchecked Sendable {
  /// The group's first input channel of the image (`H × W` floats per channel, channels apart by `H·W`).
  let image: UnsafePointer<Float>
  /// The window along the height and the width.
  let rows: WindowGeometry.Axis, columns: WindowGeometry.Axis

  /// Packs rows `row..<row + depth`, columns `column..<column + count` of the matrix: each row
  /// is one tap of one channel, walked along the output positions; a run of positions inside the
  /// image is read with the stride, those in the padding are zeros.
  func pack(row: Int, depth: Int, column: Int, columns count: Int, nr: Int, into packed: UnsafeMutablePointer<Float>) {
    let (kh, kw) = (rows.kernel, columns.kernel)
    let (height, width) = (rows.input, columns.input)
    let outputWidth = columns.output
    let panelStride = depth * nr
    for p in 0..<depth {
      let tap = row + p
      let kx = tap % kw, ky = tap / kw % kh, channel = tap / (kw * kh)
      let plane = image + channel * height * width
      var writer = PanelWriter(target: packed + p * nr, nr: nr, panelStride: panelStride)
      var (oy, ox) = (column / outputWidth, column % outputWidth)
      var remaining = count
      // The output columns whose tap `kx` lands inside the image: `first..<end`.
      let offset = kx * columns.dilation - columns.padBegin
      let first = Swift.min(outputWidth, Swift.max(0, (-offset + columns.stride - 1) / columns.stride))
      let last = width - 1 - offset
      let end = last < 0 ? first : Swift.max(first, Swift.min(outputWidth, last / columns.stride + 1))
      while remaining > 0 {
        let run = Swift.min(outputWidth - ox, remaining)
        let y = rows.position(window: oy, tap: ky)
        if y < 0 || y >= height {
          writer.zeros(run)
        } else {
          let line = plane + y * width + offset
          let start = Swift.min(Swift.max(ox, first), ox + run)
          let inside = start..<Swift.max(start, Swift.min(ox + run, end))
          writer.zeros(inside.lowerBound - ox)
          writer.copy(
            line + inside.lowerBound * columns.stride, count: inside.count, stride: columns.stride,
            readsPastEnd: y + 1 < height)
          writer.zeros(ox + run - inside.upperBound)
        }
        remaining -= run
        (oy, ox) = (oy + 1, 0)
      }
      writer.zeros(writer.lane == 0 ? 0 : nr - writer.lane)
    }
  }
}

/// Writes one row of a B block into consecutive micro-panels: `nr` floats in each, then on to
/// the same row of the next panel `panelStride` floats on.
private struct PanelWriter {
  var target: UnsafeMutablePointer<Float>
  let nr: Int
  let panelStride: Int
  /// The next float's place in the current panel's row.
  var lane = 0

  /// Writes `count` zeros.
  @inline(__always)
  mutating func zeros(_ count: Int) {
    panelShares(count) { to, _, chunk in to.update(repeating: 0, count: chunk) }
  }

  /// Copies `count` floats that lie `stride` apart from `source`; with `readsPastEnd`, the
  /// float after the last one may be read (the image row has another row after it).
  @inline(__always)
  mutating func copy(_ source: UnsafePointer<Float>, count: Int, stride: Int, readsPastEnd: Bool) {
    panelShares(count) { to, offset, chunk in
      let from = source + offset * stride
      if stride == 1 {
        to.update(from: from, count: chunk)
        return
      }
      var i = 0
      if stride == 2 {
        // Eight at a time from the even lanes of sixteen, while the sixteenth is still in the
        // run or may be read past it (a run splits into shares at panel boundaries: only the
        // run's end limits the loads).
        let readable = readsPastEnd || offset + chunk < count ? chunk : chunk - 1
        while i + 8 <= readable {
          UnsafeMutableRawPointer(to + i).storeBytes(of: EvenLanes.load(from + 2 * i, stride: 2), as: SIMD8<Float>.self)
          i += 8
        }
      }
      while i < chunk {
        to[i] = from[i * stride]
        i += 1
      }
    }
  }

  /// Splits `count` floats into the shares that fit the current panel's row and each following
  /// one: `body(to, offset, chunk)` writes `chunk` floats at `to`, the `offset`-th of the
  /// `count` onwards, then the writer moves past them.
  @inline(__always)
  private mutating func panelShares(
    _ count: Int, _ body: (_ to: UnsafeMutablePointer<Float>, _ offset: Int, _ chunk: Int) -> Void
  ) {
    var done = 0
    while done < count {
      let chunk = Swift.min(count - done, nr - lane)
      body(target + lane, done, chunk)
      done += chunk
      lane += chunk
      if lane == nr {
        lane = 0
        target += panelStride
      }
    }
  }
}
