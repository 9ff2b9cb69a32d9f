import Foundation

/// Native row kernels of the LLM's hot path over contiguous rows: softmax, rms_norm and layer_norm
/// along the last axis (f32 accumulation; the reference accumulates in Double, so results agree to f32
/// rounding), parallel over rows.
public enum RowKernels {
  /// `out[r, :] = softmax(x[r, :])` for `rows` rows of `width`; `out` may equal `x`. The
  /// exponentials are ``VectorExp``'s, sixteen at a time (a row's last few padded with -∞, whose
  /// exponential is 0).
  public static func softmax(
    _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, width: Int,
    pool: CPUThreadPool = .shared
  ) {
    let shared = RowOperands(x: x, weight: nil, out: out)
    (rows * width < 16 * 1024 ? CPUThreadPool.single : pool).forEachChunk(of: rows) { range in
      for row in range {
        let input = shared.x + row * width, output = shared.out + row * width
        let peak = SIMD16(repeating: largest(input, width))
        var totals = SIMD16<Float>()
        for start in stride(from: 0, to: width, by: 16) {
          let lanes = Swift.min(16, width - start)
          if lanes == 16 {
            let e = VectorExp.exp(UnsafeRawPointer(input + start).loadUnaligned(as: SIMD16<Float>.self) - peak)
            UnsafeMutableRawPointer(output + start).storeBytes(of: e, as: SIMD16<Float>.self)
            totals += e
            continue
          }
          var values = SIMD16<Float>(repeating: -.infinity)
          for lane in 0..<lanes { values[lane] = input[start + lane] }
          let e = VectorExp.exp(values - peak)
          totals += e
          for lane in 0..<lanes { output[start + lane] = e[lane] }
        }
        let scale = 1 / totals.sum()
        for j in 0..<width { output[j] *= scale }
      }
    }
  }

  /// The largest of `width` floats at `x` (eight lanes at a time, ``VectorLanes/larger(_:_:)``).
  @inline(__always)
  private static func largest(_ x: UnsafePointer<Float>, _ width: Int) -> Float {
    var peaks = SIMD8<Float>(repeating: -.infinity)
    var j = 0
    while j + 8 <= width {
      let values = UnsafeRawPointer(x + j).loadUnaligned(as: SIMD8<Float>.self)
      peaks = VectorLanes.larger(values, peaks)
      j += 8
    }
    var peak = peaks.max()
    while j < width {
      peak = Swift.max(peak, x[j])
      j += 1
    }
    return peak
  }

  /// `out[r, :] = x[r, :] / sqrt(mean(x[r, :]²) + epsilon) * weight` for `rows` rows of `width`.
  public static func rmsNorm(
    _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int,
    width: Int, epsilon: Float, pool: CPUThreadPool = .shared
  ) {
    let shared = RowOperands(x: x, weight: weight, out: out)
    (rows * width < 16 * 1024 ? CPUThreadPool.single : pool).forEachChunk(of: rows) { range in
      for row in range {
        let input = shared.x + row * width, output = shared.out + row * width
        var vector = SIMD16<Float>(), tail: Float = 0
        var j = 0
        let raw = UnsafeRawPointer(input)
        while j + 16 <= width {
          let v = raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD16<Float>.self)
          vector = vector.addingProduct(v, v)
          j += 16
        }
        while j < width {
          tail = tail.addingProduct(input[j], input[j])
          j += 1
        }
        let scale = 1 / ((vector.sum() + tail) / Float(width) + epsilon).squareRoot()
        for j in 0..<width { output[j] = input[j] * scale * shared.weight![j] }
      }
    }
  }

  /// `out[r, :] = (x[r, :] − mean) / sqrt(variance + epsilon) · weight + bias` for `rows` rows of
  /// `width` (mean, variance and the normalised value computed in Double as the reference does,
  /// four lanes at a time; no weight or bias means 1 or 0).
  public static func layerNorm(
    _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
    _ out: UnsafeMutablePointer<Float>, rows: Int, width: Int, epsilon: Double, pool: CPUThreadPool = .shared
  ) {
    let shared = RowOperands(x: x, weight: weight, out: out, bias: bias)
    (rows * width < 16 * 1024 ? CPUThreadPool.single : pool).forEachChunk(of: rows) { range in
      for row in range {
        let input = shared.x + row * width, output = shared.out + row * width
        let mean = DoubleLanes.sum(input, width) { $0 } / Double(width)
        let squares = DoubleLanes.sum(input, width) { ($0 - mean) * ($0 - mean) }
        let scale = 1 / (squares / Double(width) + epsilon).squareRoot()
        DoubleLanes.map(input, output, width) { ($0 - mean) * scale }
        if let weight = shared.weight { for j in 0..<width { output[j] *= weight[j] } }
        if let bias = shared.bias { for j in 0..<width { output[j] += bias[j] } }
      }
    }
  }

  /// Rotary embedding in place over `x` laid out `[sequence, heads, dim]`: the pairs of each head
  /// (adjacent, or half a head apart in `neox` mode) rotate by `positions[s] · theta^(-2i/dim)`.
  public static func rope(
    _ x: UnsafeMutablePointer<Float>, sequence: Int, heads: Int, dim: Int, positions: UnsafePointer<Int32>,
    theta: Double, neox: Bool
  ) {
    for s in 0..<sequence {
      let position = Double(positions[s])
      for i in 0..<(dim / 2) {
        let angle = position * Foundation.pow(theta, -2 * Double(i) / Double(dim))
        let (cosine, sine) = (Foundation.cos(angle), Foundation.sin(angle))
        for h in 0..<heads {
          let start = (s * heads + h) * dim
          let (first, second) = neox ? (start + i, start + i + dim / 2) : (start + 2 * i, start + 2 * i + 1)
          let (u, v) = (Double(x[first]), Double(x[second]))
          x[first] = Float(u * cosine - v * sine)
          x[second] = Float(u * sine + v * cosine)
        }
      }
    }
  }
}

/// Row-kernel pointers shared with worker threads. `@unchecked Sendable`: inputs are only read
/// and each thread writes its own rows.
struct RowOperands: @unchecked Sendable {
  let x: UnsafePointer<Float>
  let weight: UnsafePointer<Float>?
  let out: UnsafeMutablePointer<Float>
  /// What layer_norm adds, or nil.
  var bias: UnsafePointer<Float>? = nil
}
