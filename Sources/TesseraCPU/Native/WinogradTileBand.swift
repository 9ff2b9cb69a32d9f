import TesseraIR

/// How the output plane splits into 2×2 tiles, and the input rows and columns a tile reads.
struct WinogradTileGrid: Sendable {
  let geometry: WindowGeometry
  /// Tile rows and columns: `⌈OH/2⌉`, `⌈OW/2⌉`.
  let rows: Int, columns: Int
  /// Vectors of eight tiles per tile row.
  let vectors: Int
  /// Tiles a tile row takes in `V` and `M`: whole vectors, so each starts a vector of a
  /// micro-panel (the last vector's lanes past the row are tiles of nothing).
  var rowTiles: Int { 8 * vectors }
  /// Floats per padded input row: the leading padding, the row, and zeros to the last vector's
  /// reach (its 16-float loads start at `16·v` and `16·v + 2`).
  let paddedWidth: Int

  init(_ geometry: WindowGeometry) {
    self.geometry = geometry
    rows = (geometry.height.output + 1) / 2
    columns = (geometry.width.output + 1) / 2
    vectors = (columns + 7) / 8
    paddedWidth = Swift.max(geometry.width.padBegin + geometry.width.input, 16 * vectors + 2)
  }
}

/// One image's channel group: its input channels, transformed kernels, product and epilogue,
/// computed a chunk of tile rows at a time so that the chunk's transformed input `V` stays in
/// the level-2 cache while every output channel reads it. `@unchecked Sendable`: threads read
/// the input and kernels and write disjoint parts of the product.
struct WinogradTileBand<Kernel: GEMMMicrokernel>: @unchecked Sendable {
  let tiles: WinogradTileGrid
  /// The group's input and output channels.
  let channels: Int, outputs: Int
  /// The group's first input channel of the image.
  let image: UnsafePointer<Float>
  let kernels: WinogradConvolution.TransformedKernels
  let group: Int
  /// The group's first output channel of the image's `[O, OH·OW]` product.
  let output: UnsafeMutablePointer<Float>
  let epilogue: GEMMEpilogue
  /// The most tile rows in a chunk.
  let chunkRows: Int

  /// Tile columns the microkernel's B micro-panels hold.
  static var panelWidth: Int { Kernel.columns }

  /// Tile rows per chunk for a band of `count` tile rows: the count, up to the most whose `V`
  /// (16 matrices of `channels` rows, the tiles rounded up to whole micro-panels) fits in
  /// `budget` bytes, that leaves the fewest empty micro-panel columns over the band (the more
  /// rows on a tie). Every chunk reads all the kernels, so it takes at least half a
  /// micro-panel's tiles (or the whole band) whatever the budget.
  static func chunkRows(count: Int, tiles: WinogradTileGrid, channels: Int, budget: Int) -> Int {
    let nr = panelWidth
    let slots = { (rows: Int) in (rows * tiles.rowTiles + nr - 1) / nr * nr }
    var best = (rows: 1, slots: Int.max)
    let least = Swift.min(count, (nr / 2 + tiles.rowTiles - 1) / tiles.rowTiles)
    for rows in 1...Swift.max(1, count) where rows <= least || 16 * channels * slots(rows) * 4 <= budget {
      let (whole, rest) = count.quotientAndRemainder(dividingBy: rows)
      let total = whole * slots(rows) + (rest > 0 ? slots(rest) : 0)
      if total <= best.slots { best = (rows, total) }
    }
    return best.rows
  }

  /// Computes tile rows `tileRows` of every output channel, with the epilogue, a chunk at a
  /// time; `pool`'s threads share each chunk (input channels, then output channels).
  func run(tileRows: Range<Int>, pool: CPUThreadPool) {
    guard !tileRows.isEmpty else { return }
    let nr = Self.panelWidth
    let panels = (Swift.min(chunkRows, tileRows.count) * tiles.rowTiles + nr - 1) / nr
    let count = 16 * (channels * panels * nr + 16)
    let v = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64)
      .bindMemory(to: Float.self, capacity: count)
    defer { v.deallocate() }
    for first in stride(from: tileRows.lowerBound, to: tileRows.upperBound, by: chunkRows) {
      let chunk = WinogradTileChunk(band: self, rows: first..<Swift.min(first + chunkRows, tileRows.upperBound), v: v)
      pool.forEachChunk(of: channels) { chunk.transformInput(channels: $0) }
      pool.forEachChunk(of: kernels.panels) { chunk.multiply(panels: $0) }
    }
  }
}

/// A chunk of tile rows of a ``WinogradTileBand`` and its transformed input `V`: 16 matrices
/// (one per `ξ`) of `channels × tiles`, each stored as the microkernel's B micro-panels of
/// ``WinogradTileBand/panelWidth`` tiles (zeros past the last tile), each tile row
/// ``WinogradTileGrid/rowTiles`` of them. `@unchecked Sendable`:
/// threads write disjoint channels of `V`, then read it and write disjoint output channels.
struct WinogradTileChunk<Kernel: GEMMMicrokernel>: @unchecked Sendable {
  let band: WinogradTileBand<Kernel>
  let rows: Range<Int>
  let v: UnsafeMutablePointer<Float>
  /// Tiles in the chunk, with those rounding each row up to whole vectors.
  let count: Int
  /// B micro-panels per `ξ`.
  let panels: Int
  /// Floats from one B micro-panel to the next.
  let panelStride: Int
  /// Floats from one `ξ`'s matrix to the next.
  let matrixStride: Int
  private var nr: Int { Kernel.columns }

  /// Tile rows `rows` of `band`, `V` at `v`.
  init(band: WinogradTileBand<Kernel>, rows: Range<Int>, v: UnsafeMutablePointer<Float>) {
    (self.band, self.rows, self.v) = (band, rows, v)
    count = rows.count * band.tiles.rowTiles
    panels = (count + Kernel.columns - 1) / Kernel.columns
    panelStride = band.channels * Kernel.columns
    // One cache line more than the panels, or the input transform's 16 stores (and the
    // products' loads of one ξ after another) would fall in one set of the level-1 cache.
    matrixStride = panels * panelStride + 16
  }

  /// Transforms input channels `channels` into `V`.
  func transformInput(channels: Range<Int>) {
    let tiles = band.tiles
    let inputRows = 2 * rows.count + 2
    let padded = UnsafeMutablePointer<Float>.allocate(capacity: inputRows * tiles.paddedWidth)
    defer { padded.deallocate() }
    padded.initialize(repeating: 0, count: inputRows * tiles.paddedWidth)
    let tail = panels * nr - count
    for channel in channels {
      fill(padded, channel: channel, count: inputRows)
      let target = v + channel * nr
      for row in 0..<rows.count {
        let top = UnsafePointer(padded + 2 * row * tiles.paddedWidth)
        for vector in 0..<tiles.vectors {
          let start = top + 16 * vector
          let tile = row * tiles.rowTiles + 8 * vector
          let offset = tile / nr * panelStride + tile % nr
          WinogradTransforms.input(
            { i in
              let low = UnsafeRawPointer(start + i * tiles.paddedWidth).loadUnaligned(as: SIMD16<Float>.self)
              let high = UnsafeRawPointer(start + i * tiles.paddedWidth + 2).loadUnaligned(as: SIMD16<Float>.self)
              return (low.evenHalf, low.oddHalf, high.evenHalf, high.oddHalf)
            },
            store: { xi, value in
              UnsafeMutableRawPointer(target + xi * matrixStride + offset).storeBytes(of: value, as: SIMD8<Float>.self)
            })
        }
      }
      // The last micro-panel's columns past the last tile row.
      for xi in 0..<16 where tail > 0 {
        (target + xi * matrixStride + (panels - 1) * panelStride + nr - tail).update(repeating: 0, count: tail)
      }
    }
  }

  /// Copies input rows `2·rows.lowerBound − padTop ..< + count` of `channel` into `padded` after
  /// the leading padding; rows outside the image are zeros (the rest of each row stays zero).
  private func fill(_ padded: UnsafeMutablePointer<Float>, channel: Int, count: Int) {
    let (height, width) = (band.tiles.geometry.height, band.tiles.geometry.width)
    let plane = band.image + channel * height.input * width.input
    for index in 0..<count {
      let y = 2 * rows.lowerBound + index - height.padBegin
      let target = padded + index * band.tiles.paddedWidth + width.padBegin
      if y >= 0 && y < height.input {
        target.update(from: plane + y * width.input, count: width.input)
      } else {
        target.update(repeating: 0, count: width.input)
      }
    }
  }

  /// Output channel micro-panels `outputPanels`: their 16 products `M[ξ] = U[ξ]·V[ξ]` on the
  /// microkernel, then the output transform into the chunk's rows of the product, and the
  /// epilogue over them.
  func multiply(panels outputPanels: Range<Int>) {
    let (mr, tiles) = (Kernel.rows, band.tiles)
    let width = panels * nr
    // M: for each ξ, `mr` rows of `width` tiles and a cache line (as `V`).
    let productStride = mr * width + 16
    let m = UnsafeMutablePointer<Float>.allocate(capacity: 16 * productStride)
    let outputRows = UnsafeMutablePointer<Float>.allocate(capacity: 2 * 16 * tiles.vectors)
    defer {
      m.deallocate()
      outputRows.deallocate()
    }
    let (outputHeight, outputWidth) = (tiles.geometry.height.output, tiles.geometry.width.output)
    let positions = outputHeight * outputWidth
    let lastRow = Swift.min(2 * rows.upperBound, outputHeight)
    let columns = (2 * rows.lowerBound * outputWidth)..<(lastRow * outputWidth)
    for panel in outputPanels {
      for xi in 0..<16 {
        let a = band.kernels.panel(group: band.group, xi: xi, panel: panel)
        // The kernels come from memory: the first tile asks for the next ξ's panel.
        let next = xi < 15 ? band.kernels.panel(group: band.group, xi: xi + 1, panel: panel) : nil
        for column in 0..<panels {
          let b = UnsafeRawPointer(v + xi * matrixStride + column * panelStride)
            .assumingMemoryBound(to: SIMD16<Float>.self)
          let c = m + xi * productStride + column * nr
          if column == 0, let next {
            Kernel.tile(depth: band.channels, a: a, b: b, c: c, ldc: width, accumulate: false, prefetching: next)
          } else {
            Kernel.tile(depth: band.channels, a: a, b: b, c: c, ldc: width, accumulate: false)
          }
        }
      }
      for r in 0..<Swift.min(mr, band.outputs - panel * mr) {
        let o = panel * mr + r
        for row in rows {
          let products = UnsafePointer(m + r * width + (row - rows.lowerBound) * tiles.rowTiles)
          transformOutput(products, matrixStride: productStride, into: outputRows)
          let top = band.output + o * positions + 2 * row * outputWidth
          top.update(from: outputRows, count: outputWidth)
          if 2 * row + 1 < outputHeight {
            (top + outputWidth).update(from: outputRows + 16 * tiles.vectors, count: outputWidth)
          }
        }
        band.epilogue.apply(row: o, columns: columns, c: band.output, ldc: positions)
      }
    }
  }

  /// One tile row of one output channel from its products (`m[ξ · matrixStride + tile]`): the
  /// top output row into `rows[0 ..< 16·vectors]`, the bottom one after it.
  private func transformOutput(
    _ m: UnsafePointer<Float>, matrixStride: Int, into rows: UnsafeMutablePointer<Float>
  ) {
    let vectors = band.tiles.vectors
    let bottom = rows + 16 * vectors
    for vector in 0..<vectors {
      let y = WinogradTransforms.output { xi in
        UnsafeRawPointer(m + xi * matrixStride + 8 * vector).loadUnaligned(as: SIMD8<Float>.self)
      }
      let (top, low) = (rows + 16 * vector, bottom + 16 * vector)
      for lane in 0..<8 {
        top[2 * lane] = y.0[lane]
        top[2 * lane + 1] = y.1[lane]
        low[2 * lane] = y.2[lane]
        low[2 * lane + 1] = y.3[lane]
      }
    }
  }
}
