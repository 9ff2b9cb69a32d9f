import CTesseraSIMD

/// Packed single-precision GEMM in the BLIS style: A is packed in large `rows × depth` blocks
/// (held in L3), B in `depth × columns` blocks (held in L2), and a register-blocked SIMD
/// microkernel runs over them with each A micro-panel held in L1 while the B micro-panels stream
/// past it; edge tiles go through a small scratch tile. The microkernel is chosen for the vector
/// width the code was built for (``GEMMTile12x32`` with 512-bit vectors, ``GEMMTile6x16``
/// otherwise), and the block sizes come from the CPU's cache sizes (``Blocking``). Threads take
/// disjoint blocks of C (columns when C is wide enough, rows otherwise), each with its own
/// packing buffers. B is a stored matrix or any other ``GEMMPanelSource`` (a convolution's im2col
/// matrix, packed from the image).
public enum SGEMM {
  /// The microkernels ``multiply(m:n:k:a:lda:b:ldb:c:ldc:epilogue:pool:)`` can run.
  enum Microkernel: CaseIterable, Sendable {
    /// ``GEMMTile12x32``: 32 registers of 512 bits.
    case tile12x32
    /// ``GEMMTile6x16``: 16 registers of 256 bits.
    case tile6x16

    /// The one for the vector width this code was compiled for.
    static let preferred: Microkernel = tessera_vectors_are_512_bit() != 0 ? .tile12x32 : .tile6x16

    /// Rows of C per tile: the height A's micro-panels are packed to.
    var rows: Int {
      switch self {
      case .tile12x32: GEMMTile12x32.rows
      case .tile6x16: GEMMTile6x16.rows
      }
    }

    /// Columns of C per tile: the width B's micro-panels are packed to.
    var columns: Int {
      switch self {
      case .tile12x32: GEMMTile12x32.columns
      case .tile6x16: GEMMTile6x16.columns
      }
    }
  }

  /// Block sizes for a microkernel of `mr × nr` on caches of `caches`' sizes.
  struct Blocking: Equatable {
    /// Depth (k) of a packed block: an A micro-panel of this depth takes at most half of L1.
    var depth: Int
    /// Rows of A packed at once (whole micro-panels): four L2s' worth at ``depth``, read from
    /// L3, so A is packed once for all of B's column blocks (re-packing a block of A that fits in
    /// L2 for every column block cost 15–20% at 2048³; its strided reads are the slow part of
    /// packing).
    var rows: Int
    /// Columns of B packed at once (whole micro-panels): the B block takes half of L2, and its
    /// micro-panels stream from there past each A micro-panel.
    var columns: Int

    /// Sizes given directly (tests).
    init(depth: Int, rows: Int, columns: Int) {
      self.depth = depth
      self.rows = rows
      self.columns = columns
    }

    /// The blocks for a microkernel of `mr × nr` on `caches`.
    init(mr: Int, nr: Int, caches: CacheSizes) {
      depth = Swift.max(64, Swift.min(384, caches.level1 / 2 / (4 * mr)) / 16 * 16)
      rows = Swift.max(20 * mr, caches.level2 * 4 / (4 * depth) / mr * mr)
      columns = Swift.max(nr, Swift.min(4096, caches.level2 / 2 / (4 * depth)) / nr * nr)
    }
  }

  /// `C[m×n] = epilogue(A[m×k] · B[k×n])`, all row-major with row strides `lda`, `ldb`, `ldc`.
  /// B may be f32 or f16. C must not overlap A, B or the epilogue's operands.
  public static func multiply<Element: GEMMElement>(
    m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Element>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: GEMMEpilogue = .none, pool: CPUThreadPool = .shared
  ) {
    // Called from another module this body is not specialised for the caller's element type, and
    // everything below it would run generic (at 1024³ 15–20% slower): each of this module's
    // element types goes to its own specialised copy.
    let raw = UnsafeRawPointer(b)
    if Element.self == Float.self {
      multiply(
        m: m, n: n, k: k, a: a, lda: lda, b: raw.assumingMemoryBound(to: Float.self), ldb: ldb, c: c, ldc: ldc,
        epilogue: epilogue, pool: pool, microkernel: .preferred, caches: .host)
    } else if Element.self == Float16.self {
      multiply(
        m: m, n: n, k: k, a: a, lda: lda, b: raw.assumingMemoryBound(to: Float16.self), ldb: ldb, c: c, ldc: ldc,
        epilogue: epilogue, pool: pool, microkernel: .preferred, caches: .host)
    } else {
      multiply(
        m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, epilogue: epilogue, pool: pool,
        microkernel: .preferred, caches: .host)
    }
  }

  /// ``multiply(m:n:k:a:lda:b:ldb:c:ldc:epilogue:pool:)`` with a chosen microkernel and cache
  /// sizes (tests run every microkernel on every machine).
  static func multiply<Element: GEMMElement>(
    m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Element>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: GEMMEpilogue, pool: CPUThreadPool, microkernel: Microkernel,
    caches: CacheSizes
  ) {
    multiply(
      m: m, n: n, k: k, a: a, lda: lda, source: GEMMMatrixSource(b: b, ldb: ldb), c: c, ldc: ldc, epilogue: epilogue,
      pool: pool, microkernel: microkernel, caches: caches)
  }

  /// `C[m×n] = epilogue(A[m×k] · B[k×n])` with B packed from `source`, on the preferred
  /// microkernel and the host's caches. `packedA`, when it was packed for this microkernel, is
  /// A's packing, read where it lies (`a` is then not read).
  static func multiply<Source: GEMMPanelSource>(
    m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, source: Source, c: UnsafeMutablePointer<Float>,
    ldc: Int, epilogue: GEMMEpilogue, pool: CPUThreadPool, microkernel: Microkernel = .preferred,
    caches: CacheSizes = .host, packedA: GEMMPackedA? = nil
  ) {
    switch microkernel {
    case .tile12x32:
      multiply(
        GEMMTile12x32.self, m: m, n: n, k: k, a: a, lda: lda, source: source, c: c, ldc: ldc, epilogue: epilogue,
        pool: pool, caches: caches, packedA: packedA)
    case .tile6x16:
      multiply(
        GEMMTile6x16.self, m: m, n: n, k: k, a: a, lda: lda, source: source, c: c, ldc: ldc, epilogue: epilogue,
        pool: pool, caches: caches, packedA: packedA)
    }
  }

  private static func multiply<Kernel: GEMMMicrokernel, Source: GEMMPanelSource>(
    _ kernel: Kernel.Type, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, source: Source,
    c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: GEMMEpilogue, pool: CPUThreadPool, caches: CacheSizes,
    packedA: GEMMPackedA?
  ) {
    guard m > 0 && n > 0 else { return }
    let work = m * n * Swift.max(k, 1)
    let threads = work < 32 * 1024 ? 1 : pool.threads
    let packedA = packedA.flatMap { $0.mr == Kernel.rows && $0.m == m && $0.k == k ? $0 : nil }
    let shared = SharedPointers(a: a, source: source, c: c, packedA: packedA)
    let (mr, nr) = (Kernel.rows, Kernel.columns)
    let blocking = Blocking(mr: mr, nr: nr, caches: caches)
    // Split the dimension that gives every thread whole micro-tiles.
    let splitColumns = (n + nr - 1) / nr >= threads && (n >= m || (m + mr - 1) / mr < threads)
    let pieces = splitColumns ? (n + nr - 1) / nr : (m + mr - 1) / mr
    let parts = Swift.min(threads, pieces)
    CPUThreadPool(threads: parts).run(parts: parts) { part in
      let lower = pieces * part / parts, upper = pieces * (part + 1) / parts
      let rows = splitColumns ? 0..<m : (lower * mr)..<Swift.min(m, upper * mr)
      let columns = splitColumns ? (lower * nr)..<Swift.min(n, upper * nr) : 0..<n
      block(
        Kernel.self, rows: rows, columns: columns, k: k, shared, lda: lda, ldc: ldc, epilogue: epilogue,
        blocking: blocking)
    }
  }

  /// One thread's block of C, computed with its own packing buffers.
  private static func block<Kernel: GEMMMicrokernel, Source: GEMMPanelSource>(
    _ kernel: Kernel.Type, rows: Range<Int>, columns: Range<Int>, k: Int, _ shared: SharedPointers<Source>, lda: Int,
    ldc: Int, epilogue: GEMMEpilogue, blocking: Blocking
  ) {
    let (mr, nr) = (Kernel.rows, Kernel.columns)
    let c = shared.c
    if k == 0 {
      for i in rows {
        for j in columns { c[i * ldc + j] = 0 }
        epilogue.apply(row: i, columns: columns, c: c, ldc: ldc)
      }
      return
    }
    let nc = Swift.min(blocking.columns, roundUp(columns.count, nr))
    let mc = Swift.min(blocking.rows, roundUp(rows.count, mr))
    let kc = Swift.min(blocking.depth, k)
    let packedB = UnsafeMutableRawPointer.allocate(byteCount: nc * kc * 4, alignment: 64)
    let packedOnce = shared.packedA
    let packedA = UnsafeMutableRawPointer.allocate(byteCount: packedOnce == nil ? mc * kc * 4 : 0, alignment: 64)
    let scratch = UnsafeMutableRawPointer.allocate(byteCount: mr * nr * 4, alignment: 64)
    defer {
      packedB.deallocate()
      packedA.deallocate()
      scratch.deallocate()
    }
    let bPanel = packedB.bindMemory(to: Float.self, capacity: nc * kc)
    let aBlock = packedA.bindMemory(to: Float.self, capacity: mc * kc)
    let tile = scratch.bindMemory(to: Float.self, capacity: mr * nr)
    for ic in stride(from: rows.lowerBound, to: rows.upperBound, by: mc) {
      let height = Swift.min(mc, rows.upperBound - ic)
      for pc in stride(from: 0, to: k, by: kc) {
        let depth = Swift.min(kc, k - pc)
        if packedOnce == nil {
          GEMMPacking.packA(
            shared.a + ic * lda + pc, lda: lda, rows: height, depth: depth, mr: mr, into: aBlock)
        }
        @inline(__always) func aPanel(_ ir: Int) -> UnsafePointer<Float> {
          packedOnce?.panel(row: ic + ir, column: pc) ?? UnsafePointer(aBlock + ir * depth)
        }
        for jc in stride(from: columns.lowerBound, to: columns.upperBound, by: nc) {
          let width = Swift.min(nc, columns.upperBound - jc)
          // B read where it lies (a 1x1 convolution's image) leaves only a last partial
          // micro-panel to pack.
          let inPlace = shared.source.inPlace(row: pc, column: jc)
          let packedStart = inPlace == nil ? 0 : width / nr * nr
          let (panel, panelStride) =
            shared.source.packedPanels(row: pc, column: jc, nr: nr)
            ?? {
              if packedStart < width {
                shared.source.pack(
                  row: pc, depth: depth, column: jc + packedStart, columns: width - packedStart, nr: nr, into: bPanel)
              }
              return (UnsafePointer(bPanel), depth * nr)
            }()
          for ir in stride(from: 0, to: height, by: mr) {
            let aMicro = aPanel(ir)
            // The A block lies in L3 (or memory): the first tile of each micro-panel asks for the next.
            let nextA = ir + mr < height ? aPanel(ir + mr) : nil
            let tileHeight = Swift.min(mr, height - ir)
            for jr in stride(from: 0, to: width, by: nr) {
              let (bMicro, bStride) =
                jr < packedStart
                ? (inPlace!.start + jr * MemoryLayout<Float>.stride, inPlace!.rowBytes)
                : (UnsafeRawPointer(panel + (jr - packedStart) / nr * panelStride), nr * MemoryLayout<Float>.stride)
              let tileWidth = Swift.min(nr, width - jr)
              let target = c + (ic + ir) * ldc + jc + jr
              if tileWidth == nr && tileHeight == mr {
                if jr == 0, let nextA {
                  Kernel.tile(
                    depth: depth, a: aMicro, b: bMicro, bStride: bStride, c: target, ldc: ldc, accumulate: pc > 0,
                    lookahead: PanelLookahead(next: nextA, rows: mr))
                } else {
                  Kernel.tile(
                    depth: depth, a: aMicro, b: bMicro, bStride: bStride, c: target, ldc: ldc, accumulate: pc > 0)
                }
              } else {
                Kernel.edgeTile(
                  rows: tileHeight, columns: tileWidth, depth: depth, a: aMicro, b: bMicro, bStride: bStride, c: tile,
                  ldc: nr)
                // One loop per case, so each vectorises (a test per element kept it scalar).
                for r in 0..<tileHeight {
                  let (row, source) = (target + r * ldc, UnsafePointer(tile + r * nr))
                  if pc > 0 {
                    for j in 0..<tileWidth { row[j] += source[j] }
                  } else {
                    row.update(from: source, count: tileWidth)
                  }
                }
              }
            }
            // The epilogue over the strip of rows just finished, while it is in cache (over the
            // whole block after it, a 16→72 1x1 convolution on 56×56 took 0.046–0.049 ms against
            // 0.044–0.047; over each tile, an `apply` call per 32 floats, 0.078–0.080).
            if !epilogue.isIdentity && pc + depth == k {
              for i in (ic + ir)..<(ic + ir + tileHeight) {
                epilogue.apply(row: i, columns: jc..<(jc + width), c: c, ldc: ldc)
              }
            }
          }
        }
      }
    }
  }

  private static func roundUp(_ value: Int, _ multiple: Int) -> Int { (value + multiple - 1) / multiple * multiple }
}

/// The operands handed to worker threads. `@unchecked Sendable`: A and B are only read, and each
/// thread writes a disjoint block of C.
struct SharedPointers<Source: GEMMPanelSource>: @unchecked Sendable {
  let a: UnsafePointer<Float>
  let source: Source
  let c: UnsafeMutablePointer<Float>
  /// A already packed, or nil.
  var packedA: GEMMPackedA? = nil
}
