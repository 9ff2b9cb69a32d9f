import Foundation
import TesseraIR

/// Reference softmax, rms_norm, layer_norm and rope, computed in Double along one axis.
enum Composite {
  static func apply(_ kind: OpKind, _ operands: [RefArray], _ attributes: Attributes) -> RefArray {
    let x = operands[0]
    let axis = x.shape.normalizedAxis(attributes.int("axis") ?? -1) ?? 0
    switch kind {
    case .softmax:
      return alongAxis(x, axis) { row in
        let peak = row.max() ?? 0
        let exps = row.map { Foundation.exp($0 - peak) }
        let total = exps.reduce(0, +)
        return exps.map { $0 / total }
      }
    case .rmsNorm:
      let epsilon = attributes.double("epsilon") ?? 1e-6
      let normalized = alongAxis(x, axis, rounding: false) { row in
        let meanSquare = row.reduce(0) { $0 + $1 * $1 } / Double(row.count)
        let scale = 1 / (meanSquare + epsilon).squareRoot()
        return row.map { $0 * scale }
      }
      return affine(normalized, weight: operands[1], bias: nil, dtype: x.dtype)
    case .layerNorm:
      let epsilon = attributes.double("epsilon") ?? 1e-5
      let normalized = alongAxis(x, axis, rounding: false) { row in
        let mean = row.reduce(0, +) / Double(row.count)
        let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(row.count)
        let scale = 1 / (variance + epsilon).squareRoot()
        return row.map { ($0 - mean) * scale }
      }
      return affine(
        normalized, weight: operands.count > 1 ? operands[1] : nil, bias: operands.count > 2 ? operands[2] : nil,
        dtype: x.dtype)
    default:
      return rope(
        x, positions: operands[1].ints, theta: attributes.double("theta") ?? 10000,
        neox: attributes.symbol("mode") == "neox")
    }
  }

  /// Applies `transform` to every 1-D line of `x` along `axis`.
  private static func alongAxis(_ x: RefArray, _ axis: Int, rounding: Bool = true, _ transform: ([Double]) -> [Double])
    -> RefArray
  {
    let (outer, size, inner) = Indexing.around(x.shape, axis: axis)
    let values = x.floats
    var out = [Float](repeating: 0, count: values.count)
    for block in 0..<outer {
      for offset in 0..<inner {
        let base = block * size * inner + offset
        let line = (0..<size).map { Double(values[base + $0 * inner]) }
        for (position, value) in transform(line).enumerated() { out[base + position * inner] = Float(value) }
      }
    }
    return rounding
      ? RefArray(floats: out, dtype: x.dtype, shape: x.shape) : RefArray(type: x.type, storage: .float(out))
  }

  /// `x * weight + bias`, parameters broadcast to x's shape, rounded once to `dtype`.
  private static func affine(_ x: RefArray, weight: RefArray?, bias: RefArray?, dtype: DType) -> RefArray {
    var values = x.floats.map(Double.init)
    if let weight {
      let map = Indexing.broadcastMap(from: weight.shape, to: x.shape), w = weight.floats
      for i in values.indices { values[i] *= Double(w[map[i]]) }
    }
    if let bias {
      let map = Indexing.broadcastMap(from: bias.shape, to: x.shape), b = bias.floats
      for i in values.indices { values[i] += Double(b[map[i]]) }
    }
    return RefArray(floats: values.map(Float.init), dtype: dtype, shape: x.shape)
  }

  /// Rotates pairs of the last axis by `position * theta^(-2i/dim)`: adjacent pairs `(2i, 2i+1)`
  /// in normal mode, `(i, i + dim/2)` in neox mode.
  private static func rope(_ x: RefArray, positions: [Int64], theta: Double, neox: Bool) -> RefArray {
    let dims = x.shape.dims
    let dim = dims[dims.count - 1]
    let sequenceAxis = TypeInference.ropeSequenceAxis(rank: dims.count)
    let (_, sequence, perPosition) = Indexing.around(x.shape, axis: sequenceAxis)
    let values = x.floats
    var out = values
    for start in stride(from: 0, to: values.count, by: dim) {
      let position = Double(positions[(start / perPosition) % sequence])
      for i in 0..<(dim / 2) {
        let angle = position * Foundation.pow(theta, -2 * Double(i) / Double(dim))
        let (first, second) = neox ? (start + i, start + i + dim / 2) : (start + 2 * i, start + 2 * i + 1)
        let (u, v) = (Double(values[first]), Double(values[second]))
        out[first] = Float(u * Foundation.cos(angle) - v * Foundation.sin(angle))
        out[second] = Float(u * Foundation.sin(angle) + v * Foundation.cos(angle))
      }
    }
    return RefArray(floats: out, dtype: x.dtype, shape: x.shape)
  }
}
