import TesseraIR
import TesseraRuntime
import Testing

@testable import TesseraCPU

@Suite("Quantized matmuls vs dequantize-then-multiply")
struct QuantizedMatmulTests {
  static let cases: [(dtype: DType, m: Int, n: Int, k: Int)] = [
    (.q4_0, 1, 1, 32), (.q4_1, 1, 7, 64), (.q8_0, 1, 33, 96), (.q4_0, 7, 33, 64), (.q4_1, 33, 5, 32),
    (.q8_0, 3, 70, 160), (.q4_1, 1, 130, 576), (.q8_0, 9, 9, 32), (.q4_k, 6, 13, 256), (.q5_0, 5, 10, 64),
  ]

  /// `x · Wᵀ` from the reference dequantization (for f16 and bf16 weights, the IR's widening), in
  /// Double, and `Σ|x||w|` per output.
  static func expected(_ x: [Float], _ weights: Tensor, m: Int, n: Int, k: Int) -> ([Double], [Double]) {
    let w =
      weights.dtype.isQuantized
      ? Quantization.dequantize(weights.bytes, dtype: weights.dtype, count: n * k) : weights.floats
    var y = [Double](repeating: 0, count: m * n), magnitude = y
    for i in 0..<m {
      for j in 0..<n {
        for p in 0..<k {
          y[i * n + j] += Double(x[i * k + p]) * Double(w[j * k + p])
          magnitude[i * n + j] += abs(Double(x[i * k + p]) * Double(w[j * k + p]))
        }
      }
    }
    return (y, magnitude)
  }

  @Test("both precision modes", arguments: cases.indices, threadCounts)
  func multiply(index: Int, threads: Int) {
    let (dtype, m, n, k) = Self.cases[index]
    var generator = SeededRandom(seed: UInt64(index))
    let weights = Tensor.random(TensorType(dtype, [n, k]), using: &generator)
    let x = (0..<(m * k)).map { _ in Float.random(in: -1..<1, using: &generator) }
    let (expected, magnitude) = Self.expected(x, weights, m: m, n: n, k: k)
    // Both sum widths of the f32 prefill (``DotProducts``) on any CPU, on the GGUF rows and on tiles.
    let tilings = QuantizedTiles.supports(dtype) ? [false, true] : [false]
    for precision in QuantizedPrecision.allCases {
      for sixteenLanes in [false, true] {
        for tiled in tilings {
          var y = [Float](repeating: .nan, count: m * n)
          weights.bytes.withUnsafeBytes { w in
            let tiles = UnsafeMutableRawPointer.allocate(
              byteCount: QuantizedTiles.byteCount(n: n, k: k, dtype: dtype), alignment: 64)
            defer { tiles.deallocate() }
            if tiled { QuantizedTiles.repack(w.baseAddress!, n: n, k: k, dtype: dtype, into: tiles) }
            QuantizedMatmul.multiply(
              x: x, m: m, k: k, weights: w.baseAddress!, dtype: dtype, n: n, y: &y, precision: precision,
              pool: CPUThreadPool(threads: threads), tiles: tiled ? UnsafeRawPointer(tiles) : nil,
              sixteenLanes: sixteenLanes)
          }
          // f32 activations: f32 rounding only. int8 activations: each activation moves by at most
          // half a quantization step, 1/254 of its block's largest magnitude.
          let relative = precision == .f32Activations ? 1e-5 : 1.0 / 127
          for e in 0..<(m * n) {
            let allowed = relative * magnitude[e] + 1e-5
            #expect(
              abs(Double(y[e]) - expected[e]) <= allowed,
              "\(dtype) \(m)x\(n)x\(k) \(precision) \(sixteenLanes ? 16 : 8) lanes tiled \(tiled) element \(e)")
          }
        }
      }
    }
  }

  @Test("int8 activations differ from f32 activations, and agree with an independent integer sum")
  func int8ModeIsItsOwnMode() {
    let (n, k) = (3, 64)
    var generator = SeededRandom(seed: 77)
    let weights = Tensor.random(TensorType(.q8_0, [n, k]), using: &generator)
    let x = (0..<k).map { _ in Float.random(in: -1..<1, using: &generator) }
    var exact = [Float](repeating: 0, count: n), quantized = exact
    weights.bytes.withUnsafeBytes { w in
      QuantizedMatmul.multiply(x: x, m: 1, k: k, weights: w.baseAddress!, dtype: .q8_0, n: n, y: &exact)
      QuantizedMatmul.multiply(
        x: x, m: 1, k: k, weights: w.baseAddress!, dtype: .q8_0, n: n, y: &quantized, precision: .int8Activations)
    }
    #expect(exact != quantized)
    // Independent: q8_0 weights are (code, scale); activations rounded per block of 32.
    for j in 0..<n {
      var total = 0.0
      for block in 0..<(k / 32) {
        let base = (j * (k / 32) + block) * 34
        let scale = Double(
          Float(Float16(bitPattern: UInt16(weights.bytes[base]) | UInt16(weights.bytes[base + 1]) << 8)))
        let slice = x[(block * 32)..<(block * 32 + 32)]
        let d = Double(slice.map { abs($0) }.max()! / 127)
        var integer = 0
        for (offset, value) in slice.enumerated() {
          let code = Int((Double(value) / d).rounded(.toNearestOrAwayFromZero))
          integer += code * Int(Int8(bitPattern: weights.bytes[base + 2 + offset]))
        }
        total += scale * d * Double(integer)
      }
      #expect(abs(Double(quantized[j]) - total) <= 1e-4 * max(1, abs(total)), "row \(j)")
    }
  }
}
