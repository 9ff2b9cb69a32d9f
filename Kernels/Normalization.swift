import TesseraCompiler
import TesseraIR

extension TesseraKernels {
  /// Softmax along the middle axis of `x` viewed as `[outer][size][inner]` (f32).
  ///
  /// - Buffers: `x` f32 read, `y` f32 write, both [outer][size][inner].
  /// - Scalars (i32): `outer`, `size`, `inner`.
  /// - Launch: as ``reduce(_:config:)``: one workgroup per line.
  /// - Semantics: `y = exp(x - max) / sum(exp(x - max))` along the line: a max tree, an exp-sum
  ///   tree (f32), then the normalised store.
  public static func softmax(config: ReductionConfig = ReductionConfig()) throws(KIRError) -> Kernel {
    let name = "softmax"
    try checkPowerOfTwo(config.workgroupSize, kernel: name)
    let builder = KernelBuilder(name: name, comment: "y = softmax(x) along axis 1 of [outer][size][inner]")
    let x = builder.buffer("x", .f32, .read), y = builder.buffer("y", .f32, .write)
    let line = LineLayout.middleAxis(builder, width: config.workgroupSize)
    let peak = line.tree.max(line.fold(x, builder.f32(-.infinity)) { best, value, _ in builder.max(best, value) })
    let total = line.tree.sum(line.fold(x, builder.f32(0)) { total, value, _ in total + builder.exp(value - peak) })
    let scale = builder.unary(.reciprocal, total)
    line.forEach(x) { j, value in y[line.index(j)] = builder.exp(value - peak) * scale }
    return try builder.finish()
  }

  /// RMS normalisation of each row: `y = x * rsqrt(mean(x^2) + epsilon) * w`.
  ///
  /// - Buffers: `x` f32 [rows][size] read, `w` f32 [size] read, `y` f32 [rows][size] write.
  /// - Scalars: `rows` (i32), `size` (i32), `epsilon` (f32).
  /// - Launch: global `[config.workgroupSize * rows]`, workgroup `[config.workgroupSize]`: one
  ///   workgroup per row, lanes striding over it, sum of squares in f32 through a shared tree.
  public static func rmsNorm(config: ReductionConfig = ReductionConfig()) throws(KIRError) -> Kernel {
    let name = "rms_norm"
    try checkPowerOfTwo(config.workgroupSize, kernel: name)
    let builder = KernelBuilder(name: name, comment: "y = x * rsqrt(mean(x^2) + epsilon) * w per row")
    let x = builder.buffer("x", .f32, .read), w = builder.buffer("w", .f32, .read)
    let y = builder.buffer("y", .f32, .write)
    let row = LineLayout.rows(builder, width: config.workgroupSize)
    let epsilon = builder.scalar("epsilon", .f32)
    let squares = row.fold(x, builder.f32(0)) { total, value, _ in total + value * value }
    let scale = builder.rsqrt(row.tree.sum(squares) / row.size.cast(to: KType.f32) + epsilon)
    row.forEach(x) { j, value in y[row.index(j)] = value * scale * w[j] }
    return try builder.finish()
  }

  /// Layer normalisation of each row: `y = (x - mean) * rsqrt(var + epsilon) [* w] [+ b]` with the
  /// population variance (two passes: mean, then squared deviations).
  ///
  /// - Buffers: `x` f32 [rows][size] read, then `w` f32 [size] read if `hasWeight`, then `b` f32
  ///   [size] read if `hasBias`, then `y` f32 [rows][size] write.
  /// - Scalars, launch: as ``rmsNorm(config:)``.
  public static func layerNorm(
    hasWeight: Bool = true, hasBias: Bool = true, config: ReductionConfig = ReductionConfig()
  )
    throws(KIRError) -> Kernel
  {
    let name = "layer_norm" + (hasWeight ? "_w" : "") + (hasBias ? "_b" : "")
    try checkPowerOfTwo(config.workgroupSize, kernel: name)
    let builder = KernelBuilder(name: name, comment: "y = (x - mean) * rsqrt(var + epsilon) * w + b per row")
    let x = builder.buffer("x", .f32, .read)
    let w = hasWeight ? builder.buffer("w", .f32, .read) : nil
    let b = hasBias ? builder.buffer("b", .f32, .read) : nil
    let y = builder.buffer("y", .f32, .write)
    let row = LineLayout.rows(builder, width: config.workgroupSize)
    let epsilon = builder.scalar("epsilon", .f32)
    let count = row.size.cast(to: KType.f32)
    let mean = row.tree.sum(row.fold(x, builder.f32(0)) { total, value, _ in total + value }) / count
    let deviations = row.fold(x, builder.f32(0)) { total, value, _ in total + (value - mean) * (value - mean) }
    let scale = builder.rsqrt(row.tree.sum(deviations) / count + epsilon)
    row.forEach(x) { j, value in
      var result = (value - mean) * scale
      if let w { result = result * w[j] }
      if let b { result = result + b[j] }
      y[row.index(j)] = result
    }
    return try builder.finish()
  }
}
