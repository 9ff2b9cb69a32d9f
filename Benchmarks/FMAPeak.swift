/// The fused multiply-add rate one core of this machine reaches, measured rather than assumed
/// (an Intel Emerald Rapids core does 172 GFLOP/s with AVX-512, an AMD Zen 1 core a fraction of
/// that with AVX2): ten independent accumulator chains of 8-float and of 16-float vectors, the
/// better of the two, so the probe fits the register file of 256-bit and of 512-bit machines.
enum FMAPeak {
  /// GFLOP/s of one core (best of three 20-million-FMA runs of each width).
  static let perCore: Double = Swift.max(rate(SIMD8<Float>.self), rate(SIMD16<Float>.self))

  private static func rate<Vector: SIMD>(_ vector: Vector.Type) -> Double where Vector.Scalar == Float {
    let steps = 2_000_000
    var best = Double.infinity
    var sink: Float = 0
    for _ in 0..<3 {
      let start = ContinuousClock.now
      sink += chains(Vector.self, steps: steps)
      let elapsed = ContinuousClock.now - start
      best = Swift.min(best, Double(elapsed.components.attoseconds) * 1e-18 + Double(elapsed.components.seconds))
    }
    precondition(sink.isFinite || sink.isNaN, "keeps the chains' results alive")
    return 2 * 10 * Double(Vector.scalarCount) * Double(steps) / best / 1e9
  }

  @inline(never)
  private static func chains<Vector: SIMD>(_ vector: Vector.Type, steps: Int) -> Float where Vector.Scalar == Float {
    let m = Vector(repeating: 0.999_999), b = Vector(repeating: 1e-7)
    var (a0, a1, a2, a3, a4) = (
      Vector(repeating: 1), Vector(repeating: 2), Vector(repeating: 3), Vector(repeating: 4), Vector(repeating: 5)
    )
    var (a5, a6, a7, a8, a9) = (
      Vector(repeating: 6), Vector(repeating: 7), Vector(repeating: 8), Vector(repeating: 9), Vector(repeating: 10)
    )
    for _ in 0..<steps {
      a0 = b.addingProduct(a0, m)
      a1 = b.addingProduct(a1, m)
      a2 = b.addingProduct(a2, m)
      a3 = b.addingProduct(a3, m)
      a4 = b.addingProduct(a4, m)
      a5 = b.addingProduct(a5, m)
      a6 = b.addingProduct(a6, m)
      a7 = b.addingProduct(a7, m)
      a8 = b.addingProduct(a8, m)
      a9 = b.addingProduct(a9, m)
    }
    return (a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9).sum()
  }
}
