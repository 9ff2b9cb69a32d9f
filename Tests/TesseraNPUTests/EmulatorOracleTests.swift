import TesseraNPU
import TesseraRuntime
import Testing

/// The emulator's fast data paths (row conversions, whole-tile multiplies, strided copies)
/// against element-by-element computations written here, on random shapes and values.
@Suite("NPU emulator against element-by-element oracles")
struct EmulatorOracleTests {
  /// f32 values in steps of 1/8 in [-4, 4): exact in fp16.
  static func values(_ count: Int, _ generator: inout SeededRandom) -> [Float] {
    (0..<count).map { _ in Float(Int.random(in: -32..<32, using: &generator)) / 8 }
  }

  @Test("mmad through L1, L0 and the accumulators", arguments: 0..<6)
  func mmad(seed: Int) throws {
    var generator = SeededRandom(seed: UInt64(100 + seed))
    let (m, k, n) = (
      Int.random(in: 1...24, using: &generator), Int.random(in: 1...40, using: &generator),
      Int.random(in: 1...48, using: &generator)
    )
    // A and B as f32 with a third, non-representable fraction mixed in, so the f16 rounding
    // on the way to L1 matters.
    let a = Self.values(m * k, &generator).map { $0 + 1 / 3 }, b = Self.values(k * n, &generator)
    let out = (m * k + k * n) * 4
    let program =
      dmaText("dma.gm2l1.f32.f16", destination: 0, source: 0, dims: [(m * k, 1)])
      + dmaText("dma.gm2l1.f32.f16", destination: 2 * m * k, source: 4 * m * k, dims: [(k * n, 1)])
      + "set_flag mte2, mte1, 0\nwait_flag mte2, mte1, 0\n"
      + dmaText("dma.l12l0a.f16.f16", destination: 0, source: 0, dims: [(m * k, 1)])
      + dmaText("dma.l12l0b.f16.f16", destination: 0, source: 2 * m * k, dims: [(k * n, 1)])
      + "set_flag mte1, cube, 0\nwait_flag mte1, cube, 0\n"
      + "li x1, 0\nli x2, 0\nli x3, 0\nli x4, \(m)\nli x5, \(k)\nli x6, \(n)\nmmad.f16 x1, x2, x3, x4, x5, x6\n"
      + "set_flag cube, fixp, 0\nwait_flag cube, fixp, 0\n"
      + dmaText("dma.l0c2ub.f32.f32", destination: 0, source: 0, dims: [(m * n, 1)])
      + "set_flag fixp, mte3, 0\nwait_flag fixp, mte3, 0\n"
      + dmaText("dma.ub2gm.f32.f32", destination: out, source: 0, dims: [(m * n, 1)]) + "halt\n"
    let memory = try runFloats(program, a + b + [Float](repeating: 0, count: m * n))
    // fp16 operands, products exact in f32, f32 sums in k order.
    let (ha, hb) = (a.map { Float(Float16($0)) }, b.map { Float(Float16($0)) })
    var expected = [Float](repeating: 0, count: m * n)
    for i in 0..<m {
      for j in 0..<n {
        for p in 0..<k { expected[i * n + j] += ha[i * k + p] * hb[p * n + j] }
      }
    }
    #expect(Array(memory[(m * k + k * n)...]) == expected, "\(m)x\(k)x\(n)")
  }

  @Test("strided DMA with conversion, to UB and back", arguments: 0..<8)
  func stridedCopy(seed: Int) throws {
    var generator = SeededRandom(seed: UInt64(200 + seed))
    // A random 3-D window of a 4096-element f32 tensor: counts and (non-negative) strides.
    let counts = (0..<3).map { _ in Int.random(in: 1...7, using: &generator) }
    let strides = [
      Int.random(in: 60...90, using: &generator), Int.random(in: 7...9, using: &generator),
      Int.random(in: 1...2, using: &generator),
    ]
    let half = seed % 2 == 0
    let total = counts.reduce(1, *)
    let source = Self.values(4096, &generator).map { $0 + 1 / 3 }
    let inType = half ? "f16" : "f32"
    let program =
      dmaText("dma.gm2ub.f32.\(inType)", destination: 0, source: 0, dims: zip(counts, strides).map { ($0, $1) })
      + "set_flag mte2, mte3, 0\nwait_flag mte2, mte3, 0\n"
      + dmaText("dma.ub2gm.\(inType).f32", destination: 4096 * 4, source: 0, dims: [(total, 1)]) + "halt\n"
    let memory = try runFloats(program, source + [Float](repeating: 0, count: total))
    var expected: [Float] = []
    for i0 in 0..<counts[0] {
      for i1 in 0..<counts[1] {
        for i2 in 0..<counts[2] {
          let value = source[i0 * strides[0] + i1 * strides[1] + i2 * strides[2]]
          expected.append(half ? Float(Float16(value)) : value)
        }
      }
    }
    #expect(Array(memory[4096...]) == expected, "counts \(counts) strides \(strides)")
  }
}
