import CTesseraSIMD

/// A register-blocked core of the packed SGEMM: `C[rows × columns] (+)= Apanel · Bpanel`, from a
/// packed A micro-panel (`rows` floats per k) and a packed B micro-panel (`columns` floats per k,
/// 64-byte aligned), C's rows `ldc` floats apart; with `accumulate` false C is overwritten.
/// ``SGEMM`` packs its operands for the shape of the kernel it runs.
protocol GEMMMicrokernel {
  /// Rows of C per tile.
  static var rows: Int { get }
  /// Columns of C per tile (whole `SIMD16<Float>` vectors).
  static var columns: Int { get }
  /// One tile over `depth` steps.
  static func tile(
    depth: Int, a: UnsafePointer<Float>, b: UnsafePointer<SIMD16<Float>>, c: UnsafeMutablePointer<Float>, ldc: Int,
    accumulate: Bool)
  /// One tile over `depth` steps, each step also asking for the same step's line of the A
  /// micro-panel at `next` ahead of use (the next panel of an A packed once, read from memory).
  /// A requirement of its own, so the plain tile's loop stays as it was where it is not inlined.
  static func tile(
    depth: Int, a: UnsafePointer<Float>, b: UnsafePointer<SIMD16<Float>>, c: UnsafeMutablePointer<Float>, ldc: Int,
    accumulate: Bool, prefetching next: UnsafePointer<Float>)
  /// One tile over `depth` steps, calling `lookahead.step()` at each, step `k` of B read at
  /// `b + k · bStride` bytes: a packed micro-panel's (64-byte aligned, `columns` floats a step)
  /// or B's own rows where the product reads it where it lies (any alignment).
  static func tile<Lookahead: GEMMLookahead>(
    depth: Int, a: UnsafePointer<Float>, b: UnsafeRawPointer, bStride: Int, c: UnsafeMutablePointer<Float>,
    ldc: Int, accumulate: Bool, lookahead: Lookahead)
  /// At least rows `0..<rows` and columns `0..<columns` of a tile (each at most the tile's)
  /// over `depth` steps, B's step `k` at `b + k · bStride` bytes, overwriting C: a partial tile
  /// at a product's edge.
  static func edgeTile(
    rows: Int, columns: Int, depth: Int, a: UnsafePointer<Float>, b: UnsafeRawPointer, bStride: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int)
}

extension GEMMMicrokernel {
  /// Stores (or, with `accumulate`, adds to) one 32-column row of a tile of C at `row`: the
  /// sums of its first and last sixteen columns.
  @inline(__always)
  static func storeRow32(
    _ low: SIMD16<Float>, _ high: SIMD16<Float>, at row: UnsafeMutablePointer<Float>, accumulate: Bool
  ) {
    let rowStart = UnsafeMutableRawPointer(row)
    var (x, y) = (low, high)
    if accumulate {
      x += rowStart.loadUnaligned(as: SIMD16<Float>.self)
      y += rowStart.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
    }
    rowStart.storeBytes(of: x, as: SIMD16<Float>.self)
    rowStart.storeBytes(of: y, toByteOffset: 64, as: SIMD16<Float>.self)
  }

  /// One tile over `depth` steps of a packed B micro-panel, calling `lookahead.step()` at each.
  @inline(__always)
  static func tile<Lookahead: GEMMLookahead>(
    depth: Int, a: UnsafePointer<Float>, b: UnsafePointer<SIMD16<Float>>, c: UnsafeMutablePointer<Float>, ldc: Int,
    accumulate: Bool, lookahead: Lookahead
  ) {
    tile(
      depth: depth, a: a, b: UnsafeRawPointer(b), bStride: columns * MemoryLayout<Float>.stride, c: c, ldc: ldc,
      accumulate: accumulate, lookahead: lookahead)
  }

  /// The tile with B read where it lies, step `k` at `b + k · bStride` bytes.
  @inline(__always)
  static func tile(
    depth: Int, a: UnsafePointer<Float>, b: UnsafeRawPointer, bStride: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
    accumulate: Bool
  ) {
    tile(
      depth: depth, a: a, b: b, bStride: bStride, c: c, ldc: ldc, accumulate: accumulate, lookahead: NoLookahead())
  }

  /// The tile with nothing besides.
  @inline(__always)
  static func tile(
    depth: Int, a: UnsafePointer<Float>, b: UnsafePointer<SIMD16<Float>>, c: UnsafeMutablePointer<Float>, ldc: Int,
    accumulate: Bool
  ) {
    tile(depth: depth, a: a, b: b, c: c, ldc: ldc, accumulate: accumulate, lookahead: NoLookahead())
  }

  /// The tile asking for the panel at `next` as it goes.
  @inline(__always)
  static func tile(
    depth: Int, a: UnsafePointer<Float>, b: UnsafePointer<SIMD16<Float>>, c: UnsafeMutablePointer<Float>, ldc: Int,
    accumulate: Bool, prefetching next: UnsafePointer<Float>
  ) {
    tile(
      depth: depth, a: a, b: b, c: c, ldc: ldc, accumulate: accumulate,
      lookahead: PanelLookahead(next: next, rows: rows))
  }
}

extension GEMMMicrokernel {
  /// The whole tile, whatever part of it is wanted.
  @inline(__always)
  static func edgeTile(
    rows: Int, columns: Int, depth: Int, a: UnsafePointer<Float>, b: UnsafeRawPointer, bStride: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    tile(depth: depth, a: a, b: b, bStride: bStride, c: c, ldc: ldc, accumulate: false)
  }
}

/// What a microkernel does besides its multiply-adds at each depth step.
protocol GEMMLookahead {
  /// Called once per depth step.
  mutating func step()
}

/// Nothing.
struct NoLookahead: GEMMLookahead {
  @inline(__always) mutating func step() {}
}

/// Asks for the next line of another A micro-panel (`rows` floats per step) each step.
struct PanelLookahead: GEMMLookahead {
  var next: UnsafeRawPointer
  let stepBytes: Int

  init(next: UnsafePointer<Float>, rows: Int) {
    self.next = UnsafeRawPointer(next)
    stepBytes = rows * MemoryLayout<Float>.stride
  }

  @inline(__always) mutating func step() {
    tessera_prefetch(next)
    next += stepBytes
  }
}

/// The tile for CPUs with 32 vector registers of 512 bits (AVX-512): 12×32 of C held in
/// twenty-four `SIMD16<Float>` accumulators (plus two B vectors and one broadcast: 27 of the 32 zmm
/// registers). Built for the host CPU (`-target-cpu native`) the loop body is twenty-four
/// `vfmadd231ps` on zmm registers, fed by twelve broadcast loads and two vector loads: fewer loads
/// per FMA than an 8×32 tile, and 24 independent chains cover the FMA latency of both ports.
/// Where vectors are 256 bits wide (AVX2) its 48 ymm accumulators would not fit the 16
/// registers: ``GEMMTile6x16`` serves there.
enum GEMMTile12x32: GEMMMicrokernel {
  /// Rows of C per tile.
  static let rows = 12
  /// Columns of C per tile (two 16-float vectors).
  static let columns = 32

  /// `C[0..<12, 0..<32] (+)= Apanel · B` over `depth` steps, B's step `k` at `b + k · bStride`
  /// bytes, calling `lookahead.step()` at each.
  @inline(__always)
  static func tile<Lookahead: GEMMLookahead>(
    depth: Int, a: UnsafePointer<Float>, b: UnsafeRawPointer, bStride: Int, c: UnsafeMutablePointer<Float>,
    ldc: Int, accumulate: Bool, lookahead: Lookahead
  ) {
    var lookahead = lookahead
    var c00 = SIMD16<Float>(), c01 = SIMD16<Float>(), c10 = SIMD16<Float>(), c11 = SIMD16<Float>()
    var c20 = SIMD16<Float>(), c21 = SIMD16<Float>(), c30 = SIMD16<Float>(), c31 = SIMD16<Float>()
    var c40 = SIMD16<Float>(), c41 = SIMD16<Float>(), c50 = SIMD16<Float>(), c51 = SIMD16<Float>()
    var c60 = SIMD16<Float>(), c61 = SIMD16<Float>(), c70 = SIMD16<Float>(), c71 = SIMD16<Float>()
    var c80 = SIMD16<Float>(), c81 = SIMD16<Float>(), c90 = SIMD16<Float>(), c91 = SIMD16<Float>()
    var cA0 = SIMD16<Float>(), cA1 = SIMD16<Float>(), cB0 = SIMD16<Float>(), cB1 = SIMD16<Float>()
    var ap = a, bp = b
    for _ in 0..<depth {
      lookahead.step()
      let b0 = bp.loadUnaligned(as: SIMD16<Float>.self)
      let b1 = bp.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
      c00 = c00.addingProduct(ap[0], b0)
      c01 = c01.addingProduct(ap[0], b1)
      c10 = c10.addingProduct(ap[1], b0)
      c11 = c11.addingProduct(ap[1], b1)
      c20 = c20.addingProduct(ap[2], b0)
      c21 = c21.addingProduct(ap[2], b1)
      c30 = c30.addingProduct(ap[3], b0)
      c31 = c31.addingProduct(ap[3], b1)
      c40 = c40.addingProduct(ap[4], b0)
      c41 = c41.addingProduct(ap[4], b1)
      c50 = c50.addingProduct(ap[5], b0)
      c51 = c51.addingProduct(ap[5], b1)
      c60 = c60.addingProduct(ap[6], b0)
      c61 = c61.addingProduct(ap[6], b1)
      c70 = c70.addingProduct(ap[7], b0)
      c71 = c71.addingProduct(ap[7], b1)
      c80 = c80.addingProduct(ap[8], b0)
      c81 = c81.addingProduct(ap[8], b1)
      c90 = c90.addingProduct(ap[9], b0)
      c91 = c91.addingProduct(ap[9], b1)
      cA0 = cA0.addingProduct(ap[10], b0)
      cA1 = cA1.addingProduct(ap[10], b1)
      cB0 = cB0.addingProduct(ap[11], b0)
      cB1 = cB1.addingProduct(ap[11], b1)
      ap += 12
      bp += bStride
    }
    @inline(__always) func put(_ row: Int, _ low: SIMD16<Float>, _ high: SIMD16<Float>) {
      storeRow32(low, high, at: c + row * ldc, accumulate: accumulate)
    }
    put(0, c00, c01)
    put(1, c10, c11)
    put(2, c20, c21)
    put(3, c30, c31)
    put(4, c40, c41)
    put(5, c50, c51)
    put(6, c60, c61)
    put(7, c70, c71)
    put(8, c80, c81)
    put(9, c90, c91)
    put(10, cA0, cA1)
    put(11, cB0, cB1)
  }
}

extension GEMMTile12x32 {
  /// At least rows `0..<rows` and columns `0..<columns` of the tile, overwriting C: four rows
  /// at a time, of sixteen columns where `columns` is at most sixteen, so an edge tile costs
  /// about its share of a whole one (a 240→40 1x1 convolution on 14×14, whose last four rows
  /// ran a whole tile, took as long as 240→48). Most of a tile's rows and columns run it whole.
  @inline(__always)
  static func edgeTile(
    rows: Int, columns: Int, depth: Int, a: UnsafePointer<Float>, b: UnsafeRawPointer, bStride: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    if rows > 8 && columns > 16 {
      tile(depth: depth, a: a, b: b, bStride: bStride, c: c, ldc: ldc, accumulate: false)
      return
    }
    for first in stride(from: 0, to: rows, by: 4) {
      if columns > 16 {
        fourRows(wide: true, depth: depth, a: a + first, b: b, bStride: bStride, c: c + first * ldc, ldc: ldc)
      } else {
        fourRows(wide: false, depth: depth, a: a + first, b: b, bStride: bStride, c: c + first * ldc, ldc: ldc)
      }
    }
  }

  /// Four rows of the tile from the A micro-panel at `a` (twelve floats a step) and B's steps
  /// `bStride` bytes apart, over its first sixteen columns, or all 32 when `wide`: eight
  /// multiply-adds a step to six loads.
  @inline(__always)
  private static func fourRows(
    wide: Bool, depth: Int, a: UnsafePointer<Float>, b: UnsafeRawPointer, bStride: Int, c: UnsafeMutablePointer<Float>,
    ldc: Int
  ) {
    var c00 = SIMD16<Float>(), c10 = SIMD16<Float>(), c20 = SIMD16<Float>(), c30 = SIMD16<Float>()
    var c01 = SIMD16<Float>(), c11 = SIMD16<Float>(), c21 = SIMD16<Float>(), c31 = SIMD16<Float>()
    var ap = a, bp = b
    for _ in 0..<depth {
      let b0 = bp.loadUnaligned(as: SIMD16<Float>.self)
      c00 = c00.addingProduct(ap[0], b0)
      c10 = c10.addingProduct(ap[1], b0)
      c20 = c20.addingProduct(ap[2], b0)
      c30 = c30.addingProduct(ap[3], b0)
      if wide {
        let b1 = bp.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
        c01 = c01.addingProduct(ap[0], b1)
        c11 = c11.addingProduct(ap[1], b1)
        c21 = c21.addingProduct(ap[2], b1)
        c31 = c31.addingProduct(ap[3], b1)
      }
      ap += rows
      bp += bStride
    }
    @inline(__always) func put(_ row: Int, _ low: SIMD16<Float>, _ high: SIMD16<Float>) {
      let target = UnsafeMutableRawPointer(c + row * ldc)
      target.storeBytes(of: low, as: SIMD16<Float>.self)
      if wide { target.storeBytes(of: high, toByteOffset: 64, as: SIMD16<Float>.self) }
    }
    put(0, c00, c01)
    put(1, c10, c11)
    put(2, c20, c21)
    put(3, c30, c31)
  }
}
