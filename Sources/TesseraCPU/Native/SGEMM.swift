/// Packed single-precision GEMM in the BLIS style: B is packed in `depthBlock × columnBlock`
/// panels (streamed from L2), A in `rowBlock × depthBlock` blocks, and a 12×32 register-blocked
/// SIMD16 microkernel runs over them with each 12-row A micro-panel held in L1 while the B
/// micro-panels stream past it; edge tiles go through a small scratch tile. Threads take disjoint
/// blocks of C (columns when C is wide enough, rows otherwise), each with its own packing buffers.
public enum SGEMM {
  /// Depth (k) of a packed block: a 12-row A micro-panel of this depth (12 KiB) stays in L1.
  static let depthBlock = 256
  /// Rows of A packed at once, whole micro-panels (240 × 256 floats, 240 KiB of A in L2).
  static let rowBlock = 20 * GEMMMicrokernel.rows
  /// Columns of B packed at once (with `depthBlock`, up to 2 MiB: the L2 of one core; 1024 and
  /// 512 were not faster at 1024³ or 2048³).
  static let columnBlock = 2048

  /// `C[m×n] = epilogue(A[m×k] · B[k×n])`, all row-major with row strides `lda`, `ldb`, `ldc`.
  /// B may be f32 or f16. C must not overlap A, B or the epilogue's operands.
  public static func multiply<Element: GEMMElement>(
    m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Element>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: GEMMEpilogue = .none, pool: CPUThreadPool = .shared
  ) {
    guard m > 0 && n > 0 else { return }
    let work = m * n * Swift.max(k, 1)
    let threads = work < 32 * 1024 ? 1 : pool.threads
    let shared = SharedPointers(a: a, b: b, c: c)
    let (mr, nr) = (GEMMMicrokernel.rows, GEMMMicrokernel.columns)
    // Split the dimension that gives every thread whole micro-tiles.
    let splitColumns = (n + nr - 1) / nr >= threads && (n >= m || (m + mr - 1) / mr < threads)
    let pieces = splitColumns ? (n + nr - 1) / nr : (m + mr - 1) / mr
    let parts = Swift.min(threads, pieces)
    CPUThreadPool(threads: parts).run(parts: parts) { part in
      let lower = pieces * part / parts, upper = pieces * (part + 1) / parts
      let rows = splitColumns ? 0..<m : (lower * mr)..<Swift.min(m, upper * mr)
      let columns = splitColumns ? (lower * nr)..<Swift.min(n, upper * nr) : 0..<n
      block(rows: rows, columns: columns, k: k, shared, lda: lda, ldb: ldb, ldc: ldc, epilogue: epilogue)
    }
  }

  /// One thread's block of C, computed with its own packing buffers.
  private static func block<Element: GEMMElement>(
    rows: Range<Int>, columns: Range<Int>, k: Int, _ shared: SharedPointers<Element>, lda: Int, ldb: Int, ldc: Int,
    epilogue: GEMMEpilogue
  ) {
    let (mr, nr) = (GEMMMicrokernel.rows, GEMMMicrokernel.columns)
    let c = shared.c
    if k == 0 {
      for i in rows {
        for j in columns { c[i * ldc + j] = 0 }
        epilogue.apply(row: i, columns: columns, c: c, ldc: ldc)
      }
      return
    }
    let nc = Swift.min(columnBlock, roundUp(columns.count, nr))
    let mc = Swift.min(rowBlock, roundUp(rows.count, mr))
    let kc = Swift.min(depthBlock, k)
    let packedB = UnsafeMutableRawPointer.allocate(byteCount: nc * kc * 4, alignment: 64)
    let packedA = UnsafeMutableRawPointer.allocate(byteCount: mc * kc * 4, alignment: 64)
    let scratch = UnsafeMutableRawPointer.allocate(byteCount: mr * nr * 4, alignment: 64)
    defer {
      packedB.deallocate()
      packedA.deallocate()
      scratch.deallocate()
    }
    let bPanel = packedB.bindMemory(to: Float.self, capacity: nc * kc)
    let aBlock = packedA.bindMemory(to: Float.self, capacity: mc * kc)
    let tile = scratch.bindMemory(to: Float.self, capacity: mr * nr)
    for jc in stride(from: columns.lowerBound, to: columns.upperBound, by: nc) {
      let width = Swift.min(nc, columns.upperBound - jc)
      for pc in stride(from: 0, to: k, by: kc) {
        let depth = Swift.min(kc, k - pc)
        GEMMPacking.packB(shared.b + pc * ldb + jc, ldb: ldb, depth: depth, columns: width, into: bPanel)
        for ic in stride(from: rows.lowerBound, to: rows.upperBound, by: mc) {
          let height = Swift.min(mc, rows.upperBound - ic)
          GEMMPacking.packA(shared.a + ic * lda + pc, lda: lda, rows: height, depth: depth, into: aBlock)
          for ir in stride(from: 0, to: height, by: mr) {
            let aMicro = aBlock + ir * depth
            let tileHeight = Swift.min(mr, height - ir)
            for jr in stride(from: 0, to: width, by: nr) {
              let bMicro = UnsafeRawPointer(bPanel + jr * depth).assumingMemoryBound(to: SIMD16<Float>.self)
              let tileWidth = Swift.min(nr, width - jr)
              let target = c + (ic + ir) * ldc + jc + jr
              if tileWidth == nr && tileHeight == mr {
                GEMMMicrokernel.tile(depth: depth, a: aMicro, b: bMicro, c: target, ldc: ldc, accumulate: pc > 0)
              } else {
                GEMMMicrokernel.tile(depth: depth, a: aMicro, b: bMicro, c: tile, ldc: nr, accumulate: false)
                for r in 0..<tileHeight {
                  for j in 0..<tileWidth {
                    target[r * ldc + j] = (pc > 0 ? target[r * ldc + j] : 0) + tile[r * nr + j]
                  }
                }
              }
            }
          }
        }
      }
      if !epilogue.isIdentity {
        for i in rows { epilogue.apply(row: i, columns: jc..<(jc + width), c: c, ldc: ldc) }
      }
    }
  }

  private static func roundUp(_ value: Int, _ multiple: Int) -> Int { (value + multiple - 1) / multiple * multiple }
}

/// The operand pointers handed to worker threads. `@unchecked Sendable`: A and B are only read,
/// and each thread writes a disjoint block of C.
struct SharedPointers<Element: GEMMElement>: @unchecked Sendable {
  let a: UnsafePointer<Float>
  let b: UnsafePointer<Element>
  let c: UnsafeMutablePointer<Float>
}
