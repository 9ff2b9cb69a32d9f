import Foundation
import TesseraCPU
import TesseraIR
import TesseraRuntime
import TesseraTestSupport
import Testing

@Suite("Native softmax, rms_norm, rope and attention vs the reference")
struct RowKernelTests {
  static let shapes: [(rows: Int, width: Int)] = [(1, 1), (7, 33), (33, 7), (3, 100), (64, 576)]

  func reference(_ text: String, _ inputs: [Tensor]) throws -> Tensor {
    try TestSupport.evaluate(try TestSupport.parseOne(text), inputs)[0]
  }

  @Test("softmax and rms_norm", arguments: shapes.indices, threadCounts)
  func rows(shape: Int, threads: Int) throws {
    let (rows, width) = Self.shapes[shape]
    var generator = SeededRandom(seed: UInt64(shape))
    let x = Tensor.random(TensorType(.f32, [rows, width]), using: &generator)
    let w = Tensor.random(TensorType(.f32, [width]), using: &generator)
    let type = "f32[\(rows),\(width)]"
    let expectedSoftmax = try reference(
      "func @f(%x: \(type)) -> \(type) {\n  %y = softmax %x {axis = -1} : \(type)\n  return %y\n}", [x])
    let expectedNorm = try reference(
      "func @f(%x: \(type), %w: f32[\(width)]) -> \(type) {\n  %y = rms_norm %x, %w {axis = -1, epsilon = 1.0e-05} : \(type)\n  return %y\n}",
      [x, w])
    let input = x.floats, weight = w.floats
    var softmax = [Float](repeating: .nan, count: rows * width), norm = softmax
    let pool = CPUThreadPool(threads: threads)
    RowKernels.softmax(input, &softmax, rows: rows, width: width, pool: pool)
    RowKernels.rmsNorm(input, weight: weight, &norm, rows: rows, width: width, epsilon: 1e-5, pool: pool)
    #expect(
      TestSupport.toleranceRatio(
        Tensor(floats: softmax, shape: [rows, width]), expectedSoftmax, atol: 1e-6, rtol: 1e-5) <= 1)
    #expect(
      TestSupport.toleranceRatio(Tensor(floats: norm, shape: [rows, width]), expectedNorm, atol: 1e-6, rtol: 1e-5) <= 1)
  }

  @Test("rope", arguments: [false, true], [(1, 1, 2), (7, 3, 8), (5, 2, 64)])
  func rope(neox: Bool, shape: (Int, Int, Int)) throws {
    let (sequence, heads, dim) = shape
    var generator = SeededRandom(seed: 4)
    let x = Tensor.random(TensorType(.f32, [sequence, heads, dim]), using: &generator)
    let positions = (0..<sequence).map { Int32($0 * 3 + 1) }
    let type = "f32[\(sequence),\(heads),\(dim)]"
    let expected = try reference(
      "func @f(%x: \(type), %p: i32[\(sequence)]) -> \(type) {\n  %y = rope %x, %p {theta = 10000.0, mode = \(neox ? "neox" : "normal")} : \(type)\n  return %y\n}",
      [x, Tensor(positions.map(Double.init), shape: [sequence], dtype: .i32)])
    var values = x.floats
    RowKernels.rope(&values, sequence: sequence, heads: heads, dim: dim, positions: positions, theta: 10000, neox: neox)
    #expect(TestSupport.toleranceRatio(Tensor(floats: values, shape: x.shape), expected, atol: 1e-5, rtol: 1e-5) <= 1)
  }

  @Test(
    "attention, causal and grouped", arguments: [(1, 1, 1, 1, 4), (7, 7, 4, 2, 8), (3, 33, 2, 1, 16)], threadCounts)
  func attention(shape: (Int, Int, Int, Int, Int), threads: Int) {
    let (queries, keys, heads, kvHeads, dim) = shape
    var generator = SeededRandom(seed: 8)
    func random(_ count: Int) -> [Float] { (0..<count).map { _ in Float.random(in: -1..<1, using: &generator) } }
    let q = random(queries * heads * dim), k = random(keys * kvHeads * dim), v = random(keys * kvHeads * dim)
    let offset = keys - queries, scale = 1 / Float(dim).squareRoot()
    var out = [Float](repeating: .nan, count: queries * heads * dim)
    Attention.run(
      q: q, k: k, v: v, out: &out, queries: queries, keys: keys, heads: heads, kvHeads: kvHeads, dim: dim, scale: scale,
      causalOffset: offset, pool: CPUThreadPool(threads: threads))
    for h in 0..<heads {
      let g = h / (heads / kvHeads)
      for i in 0..<queries {
        let visible = offset + i + 1
        let scores = (0..<visible).map { t in
          (0..<dim).reduce(0.0) { $0 + Double(q[(i * heads + h) * dim + $1]) * Double(k[(t * kvHeads + g) * dim + $1]) }
            * Double(scale)
        }
        let peak = scores.max()!, weights = scores.map { Foundation.exp($0 - peak) }, total = weights.reduce(0, +)
        for d in 0..<dim {
          let expected = (0..<visible).reduce(0.0) {
            $0 + weights[$1] / total * Double(v[($1 * kvHeads + g) * dim + d])
          }
          #expect(abs(Double(out[(i * heads + h) * dim + d]) - expected) <= 1e-5, "h\(h) i\(i) d\(d)")
        }
      }
    }
  }
}
