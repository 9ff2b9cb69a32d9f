import Foundation
import TesseraIR

extension LlamaGraphBuilder {
  /// RoPE on `x: [T, heads, D]` at `positions` (`i32[T]`) with `layer`'s base; pairs are adjacent
  /// (llama) or half a head apart (the others). Without frequency factors this is the IR's `rope`
  /// op; with them (Llama 3, linear scaling) the same rotation is spelled out in elementwise ops,
  /// pair `i` turning by `position · base^(-2i/D) / factor[i]`.
  func rope(_ x: ValueID, positions: ValueID, layer: Int) -> ValueID {
    let base = config.ropeBase(layer: layer)
    let halves = config.architecture.ropeRotatesHalves
    guard let factors = config.ropeFactors(layer: layer) else {
      return builder.rope(x, positions: positions, theta: base, neox: halves)
    }
    let dims = builder.type(of: x).shape.dims
    let (count, heads, d) = (dims[0], dims[1], dims[2])
    let pairs = d / 2
    let inverse = (0..<pairs).map { Foundation.pow(base, -2 * Double($0) / Double(d)) / factors[$0] }
    let angles = builder.mul(
      builder.reshape(builder.cast(positions, to: .f32), to: [count, 1, 1]),
      builder.constant(Tensor(inverse, shape: [1, 1, pairs])))
    let (cos, sin) = (builder.cos(angles), builder.sin(angles))
    // The two members of every pair as `[T, heads, pairs]` each.
    let (first, second): (ValueID, ValueID)
    if halves {
      first = builder.slice(x, start: [0, 0, 0], end: [count, heads, pairs])
      second = builder.slice(x, start: [0, 0, pairs], end: [count, heads, d])
    } else {
      let paired = builder.reshape(x, to: [count, heads, pairs, 2])
      first = builder.reshape(
        builder.slice(paired, start: [0, 0, 0, 0], end: [count, heads, pairs, 1]), to: [count, heads, pairs])
      second = builder.reshape(
        builder.slice(paired, start: [0, 0, 0, 1], end: [count, heads, pairs, 2]), to: [count, heads, pairs])
    }
    let rotatedFirst = builder.sub(builder.mul(first, cos), builder.mul(second, sin))
    let rotatedSecond = builder.add(builder.mul(first, sin), builder.mul(second, cos))
    if halves { return builder.concat([rotatedFirst, rotatedSecond], axis: 2) }
    let stacked = builder.concat(
      [rotatedFirst, rotatedSecond].map { builder.reshape($0, to: [count, heads, pairs, 1]) }, axis: 3)
    return builder.reshape(stacked, to: [count, heads, d])
  }
}
