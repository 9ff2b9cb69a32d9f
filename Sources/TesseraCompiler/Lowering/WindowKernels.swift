import TesseraIR

/// Generated kernels for the window ops a target keeps whole (``TargetCapabilities/windowKernels``):
/// one work-item per output element visits the taps of its window, skipping those in the padding.
/// They are the portable form; `cpu` runs f32 groups on its native convolution and pooling and
/// these for the rest.
extension KernelGenerator {
  /// The `conv2d` value at `coordinates` (`[n, o, oy, ox]`): the sum over the group's input
  /// channels and the kernel taps inside the input, accumulated in f32 for floats.
  static func convolution(_ node: Node, at coordinates: [KExpr], _ emitter: GroupEmitter) {
    let k = emitter.builder, graph = emitter.graph
    let x = graph.type(of: node.operands[0]).shape, w = graph.type(of: node.operands[1]).shape
    let resultType = graph.type(of: node.result)
    let geometry = WindowGeometry(verified: node.attributes, input: x, kernel: [w.dims[2], w.dims[3]])
    let outputsPerGroup = w.dims[0] / (node.attributes.int("groups") ?? 1)
    let firstChannel = coordinates[1] / emitter.index(outputsPerGroup) * emitter.index(w.dims[1])
    let accumulatorType = resultType.dtype.isFloatingPoint ? DType.f32 : resultType.dtype
    let sum = k.variable(k.constant(0, KType(accumulatorType)))
    taps(geometry, window: coordinates, emitter, channels: w.dims[1]) { channel, ky, kx, y, column in
      let input = emitter.value(node.operands[0], at: [coordinates[0], firstChannel + channel, y, column])
      let weight = emitter.value(node.operands[1], at: [coordinates[1], channel, ky, kx])
      sum.value = sum.value + input.cast(accumulatorType) * weight.cast(accumulatorType)
    }
    emitter.define(node.result, at: coordinates, as: sum.value.cast(resultType.dtype))
  }

  /// The `max_pool2d` or `avg_pool2d` value at `coordinates` (`[n, c, oy, ox]`): the largest tap
  /// inside the input (−∞ where there is none), or their sum (in f32) divided by their count (with
  /// `count_include_pad`, the count of taps inside the input and its padding).
  static func pooling(_ node: Node, at coordinates: [KExpr], _ emitter: GroupEmitter) {
    let k = emitter.builder, graph = emitter.graph
    let type = graph.type(of: node.result)
    let geometry = WindowGeometry(
      verified: node.attributes, input: graph.type(of: node.operands[0]).shape,
      kernel: node.attributes.ints("kernel") ?? [])
    let isMax = node.kind == .maxPool2d
    let accumulator = k.variable(k.constant(isMax ? -.infinity : 0, KType(isMax ? type.dtype : .f32)))
    taps(geometry, window: coordinates, emitter, channels: 1) { _, _, _, y, column in
      let value = emitter.value(node.operands[0], at: [coordinates[0], coordinates[1], y, column])
      accumulator.value = isMax ? k.max(accumulator.value, value) : accumulator.value + value.cast(.f32)
    }
    guard !isMax else {
      emitter.define(node.result, at: coordinates, as: accumulator.value)
      return
    }
    let includingPadding = node.attributes.bool("count_include_pad") ?? false
    let count =
      tapCount(geometry.height, window: coordinates[2], includingPadding: includingPadding, emitter)
      * tapCount(geometry.width, window: coordinates[3], includingPadding: includingPadding, emitter)
    emitter.define(node.result, at: coordinates, as: (accumulator.value / count.cast(.f32)).cast(type.dtype))
  }

  /// Runs `body(channel, ky, kx, y, x)` for every channel below `channels` and every tap of the
  /// window at `window` (`[_, _, oy, ox]`) whose input position `(y, x)` lies inside the input.
  private static func taps(
    _ geometry: WindowGeometry, window: [KExpr], _ emitter: GroupEmitter, channels: Int,
    _ body: (KExpr, KExpr, KExpr, KExpr, KExpr) -> Void
  ) {
    let k = emitter.builder
    let (rows, columns) = (geometry.height, geometry.width)
    let zero = emitter.index(0)
    let (height, width) = (emitter.index(rows.input), emitter.index(columns.input))
    let top = window[2] * emitter.index(rows.stride) - emitter.index(rows.padBegin)
    let left = window[3] * emitter.index(columns.stride) - emitter.index(columns.padBegin)
    let (rowDilation, columnDilation) = (emitter.index(rows.dilation), emitter.index(columns.dilation))
    // Every constant is made here: one first made inside a loop would be remembered outside it.
    let (channelCount, rowTaps, columnTaps) = (
      emitter.index(channels), emitter.index(rows.kernel), emitter.index(columns.kernel)
    )
    k.loop(from: zero, to: channelCount) { channel in
      k.loop(from: zero, to: rowTaps) { ky in
        k.loop(from: zero, to: columnTaps) { kx in
          let y = top + ky * rowDilation, x = left + kx * columnDilation
          k.if(y.ge(zero).and(y.lt(height)).and(x.ge(zero)).and(x.lt(width))) {
            emitter.scoped { body(channel, ky, kx, y, x) }
          }
        }
      }
    }
  }

  /// How many taps of the window at `window` lie inside the input along `axis` (or inside the
  /// input and its padding), as an i32.
  private static func tapCount(
    _ axis: WindowGeometry.Axis, window: KExpr, includingPadding: Bool, _ emitter: GroupEmitter
  ) -> KExpr {
    let k = emitter.builder
    let lower = emitter.index(includingPadding ? -axis.padBegin : 0)
    let upper = emitter.index(includingPadding ? axis.input + axis.padEnd : axis.input)
    let start = window * emitter.index(axis.stride) - emitter.index(axis.padBegin)
    let (zero, one, dilation) = (emitter.index(0), emitter.index(1), emitter.index(axis.dilation))
    let count = k.variable(zero)
    k.loop(from: zero, to: emitter.index(axis.kernel)) { tap in
      let position = start + tap * dilation
      count.value = count.value + k.select(position.ge(lower).and(position.lt(upper)), one, zero)
    }
    return count.value
  }
}
