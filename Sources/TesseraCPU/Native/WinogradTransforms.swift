/// The three transforms of Winograd's minimal filtering F(2×2, 3×3) (Lavin and Gray, "Fast
/// Algorithms for Convolutional Neural Networks", 2016): a 3×3 kernel `g` becomes the 4×4
/// `U = G·g·Gᵀ`, a 4×4 input tile `d` becomes `V = Bᵀ·d·B`, and the 2×2 output tile is
/// `Y = Aᵀ·(U ⊙ V)·A`, with
///
///     Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]
///     G  = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]
///     Aᵀ = [1 1 1 0; 0 1 −1 −1]
///
/// Every coefficient is 0, ±1 or ±½, so the transforms only add and halve (halving is exact).
/// Element `ξ = 4·i + j` of a transformed tile is its row `i`, column `j`. The input and output
/// transforms work on eight tiles at once, one per lane.
enum WinogradTransforms {
  /// The 1-D kernel transform `G·(a, b, c)`.
  @inline(__always)
  private static func kernelLine<T: FloatingPoint>(_ a: T, _ b: T, _ c: T) -> (T, T, T, T) {
    let half = T(1) / 2
    return (a, (a + b + c) * half, (a - b + c) * half, c)
  }

  /// `U = G·g·Gᵀ` of the row-major 3×3 kernel at `g`: element `ξ` is written to `u[ξ · stride]`.
  @inline(__always)
  static func kernel(_ g: UnsafePointer<Float>, into u: UnsafeMutablePointer<Float>, stride: Int) {
    // G·g column by column: four rows of three.
    let c0 = kernelLine(g[0], g[3], g[6]), c1 = kernelLine(g[1], g[4], g[7]), c2 = kernelLine(g[2], g[5], g[8])
    @inline(__always) func row(_ i: Int, _ line: (Float, Float, Float, Float)) {
      u[(4 * i) * stride] = line.0
      u[(4 * i + 1) * stride] = line.1
      u[(4 * i + 2) * stride] = line.2
      u[(4 * i + 3) * stride] = line.3
    }
    // ·Gᵀ: each row of that along its columns.
    row(0, kernelLine(c0.0, c1.0, c2.0))
    row(1, kernelLine(c0.1, c1.1, c2.1))
    row(2, kernelLine(c0.2, c1.2, c2.2))
    row(3, kernelLine(c0.3, c1.3, c2.3))
  }

  /// The 1-D input transform `Bᵀ·(d0, d1, d2, d3)`.
  @inline(__always)
  private static func inputLine(
    _ d0: SIMD8<Float>, _ d1: SIMD8<Float>, _ d2: SIMD8<Float>, _ d3: SIMD8<Float>
  ) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
    (d0 - d2, d1 + d2, d2 - d1, d1 - d3)
  }

  /// `V = Bᵀ·d·B` of eight tiles side by side: `d(i)` gives the four columns of row `i` of the
  /// tiles; `store(ξ, v)` receives the sixteen elements.
  @inline(__always)
  static func input(
    _ d: (Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>), store: (Int, SIMD8<Float>) -> Void
  ) {
    let (r0, r1, r2, r3) = (d(0), d(1), d(2), d(3))
    // Bᵀ·d: the rows combined column by column.
    let c0 = inputLine(r0.0, r1.0, r2.0, r3.0), c1 = inputLine(r0.1, r1.1, r2.1, r3.1)
    let c2 = inputLine(r0.2, r1.2, r2.2, r3.2), c3 = inputLine(r0.3, r1.3, r2.3, r3.3)
    // ·B: each row of that combined along its columns.
    @inline(__always) func row(_ i: Int, _ e: (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)) {
      let v = inputLine(e.0, e.1, e.2, e.3)
      store(4 * i, v.0)
      store(4 * i + 1, v.1)
      store(4 * i + 2, v.2)
      store(4 * i + 3, v.3)
    }
    row(0, (c0.0, c1.0, c2.0, c3.0))
    row(1, (c0.1, c1.1, c2.1, c3.1))
    row(2, (c0.2, c1.2, c2.2, c3.2))
    row(3, (c0.3, c1.3, c2.3, c3.3))
  }

  /// The 1-D output transform `Aᵀ·(m0, m1, m2, m3)`.
  @inline(__always)
  private static func outputLine(
    _ m0: SIMD8<Float>, _ m1: SIMD8<Float>, _ m2: SIMD8<Float>, _ m3: SIMD8<Float>
  ) -> (SIMD8<Float>, SIMD8<Float>) {
    (m0 + m1 + m2, m1 - m2 - m3)
  }

  /// `Y = Aᵀ·m·A` of eight tiles side by side, `m(ξ)` the products: returns `(y00, y01, y10, y11)`.
  @inline(__always)
  static func output(_ m: (Int) -> SIMD8<Float>) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
    // Aᵀ·m: the rows combined column by column, then ·A along each of the two rows.
    let c0 = outputLine(m(0), m(4), m(8), m(12)), c1 = outputLine(m(1), m(5), m(9), m(13))
    let c2 = outputLine(m(2), m(6), m(10), m(14)), c3 = outputLine(m(3), m(7), m(11), m(15))
    let top = outputLine(c0.0, c1.0, c2.0, c3.0), bottom = outputLine(c0.1, c1.1, c2.1, c3.1)
    return (top.0, top.1, bottom.0, bottom.1)
  }
}
