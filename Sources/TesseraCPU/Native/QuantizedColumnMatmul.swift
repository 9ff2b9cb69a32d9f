import TesseraIR

extension QuantizedMatmul {
  /// Computes `y = x · W` where `W` is `k × n` with its quantized blocks along `n` (the layout of
  /// a plain `dequantize(w)` used as a matmul's B): each 32-column strip of `y` is accumulated in
  /// registers over all `k` rows of W, every block decoded as `code · d + offset` (rounded once)
  /// and multiplied by `x[i, p]`, f32 accumulation. `n` must be a multiple of 32. Threads split
  /// the strips. (The int8-activation mode needs blocks along `k`, so it has no such variant.)
  public static func multiply(
    x: UnsafePointer<Float>, m: Int, k: Int, weightsByColumn weights: UnsafeRawPointer, dtype: DType, n: Int,
    y: UnsafeMutablePointer<Float>, pool: CPUThreadPool = .shared
  ) {
    precondition(dtype.isQuantized && n % 32 == 0, "QuantizedMatmul: \(dtype) with n = \(n)")
    guard m > 0 && n > 0 else { return }
    let shared = QuantizedOperands(x: x, weights: weights, y: y)
    let threads = m * n * k < 64 * 1024 ? CPUThreadPool.single : pool
    threads.forEachChunk(of: n / 32) { strips in
      switch dtype {
      case .q4_0: ColumnStrips.run(Q4_0Format.self, shared, m: m, k: k, n: n, strips: strips)
      case .q4_1: ColumnStrips.run(Q4_1Format.self, shared, m: m, k: k, n: n, strips: strips)
      default: ColumnStrips.run(Q8_0Format.self, shared, m: m, k: k, n: n, strips: strips)
      }
    }
  }
}

/// The register loop of ``QuantizedMatmul/multiply(x:m:k:weightsByColumn:dtype:n:y:pool:)``.
enum ColumnStrips {
  /// `y[i, 32s ..< 32s + 32]` for every row `i` and strip `s` in `strips`.
  static func run<Format: QuantizedBlockFormat>(
    _ format: Format.Type, _ shared: QuantizedOperands, m: Int, k: Int, n: Int, strips: Range<Int>
  ) {
    let rowBytes = n / 32 * Format.bytes
    for strip in strips {
      let column = shared.weights + strip * Format.bytes
      for i in 0..<m {
        let x = shared.x + i * k
        var low = SIMD16<Float>(), high = SIMD16<Float>()
        for p in 0..<k {
          let block = Format.block(at: column + p * rowBytes)
          let scale = SIMD16<Float>(repeating: block.scale), offset = SIMD16<Float>(repeating: block.offset)
          let xp = SIMD16<Float>(repeating: x[p])
          low = low.addingProduct(offset.addingProduct(block.low, scale), xp)
          high = high.addingProduct(offset.addingProduct(block.high, scale), xp)
        }
        let out = UnsafeMutableRawPointer(shared.y + i * n + strip * 32)
        out.storeBytes(of: low, as: SIMD16<Float>.self)
        out.storeBytes(of: high, toByteOffset: 64, as: SIMD16<Float>.self)
      }
    }
  }
}
