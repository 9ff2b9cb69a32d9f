import TesseraIR

/// Reference `conv2d`, `max_pool2d`, `avg_pool2d` and `pad`: a plain loop over every output
/// element, the taps of its window visited one by one, sums accumulated in `Double`.
enum Windows {
  static func apply(_ kind: OpKind, _ operands: [RefArray], _ attributes: Attributes, _ type: TensorType) -> RefArray {
    switch kind {
    case .conv2d: convolve(operands[0], operands[1], attributes, type)
    case .maxPool2d, .avgPool2d: pool(kind, operands[0], attributes, type)
    default: pad(operands[0], attributes, type)
    }
  }

  private static func convolve(_ x: RefArray, _ w: RefArray, _ attributes: Attributes, _ type: TensorType) -> RefArray {
    let (batch, channels, height, width) = (x.shape.dims[0], x.shape.dims[1], x.shape.dims[2], x.shape.dims[3])
    let (outputs, perGroup, kh, kw) = (w.shape.dims[0], w.shape.dims[1], w.shape.dims[2], w.shape.dims[3])
    let outputsPerGroup = outputs / (attributes.int("groups") ?? 1)
    let geometry = WindowGeometry(verified: attributes, input: x.shape, kernel: [kh, kw])
    let (rows, columns) = (geometry.height, geometry.width)
    let (input, weights) = (x.floats, w.floats)
    var out = [Float](repeating: 0, count: type.shape.count)
    var index = 0
    for n in 0..<batch {
      for o in 0..<outputs {
        let firstChannel = (o / outputsPerGroup) * perGroup
        for oy in 0..<rows.output {
          for ox in 0..<columns.output {
            var sum = 0.0
            for ic in 0..<perGroup {
              let plane = (n * channels + firstChannel + ic) * height
              for ky in 0..<kh {
                let y = rows.position(window: oy, tap: ky)
                guard (0..<height).contains(y) else { continue }
                for kx in 0..<kw {
                  let x = columns.position(window: ox, tap: kx)
                  guard (0..<width).contains(x) else { continue }
                  sum +=
                    Double(input[(plane + y) * width + x]) * Double(weights[((o * perGroup + ic) * kh + ky) * kw + kx])
                }
              }
            }
            out[index] = Float(sum)
            index += 1
          }
        }
      }
    }
    return RefArray(floats: out, dtype: x.dtype, shape: type.shape)
  }

  /// The maximum of the taps inside the input (NaN when one is, as numpy's `max` and this
  /// evaluator's `reduce_max` give), or their mean (divided by the taps inside the
  /// input, or inside the input and its padding with `count_include_pad`).
  private static func pool(_ kind: OpKind, _ x: RefArray, _ attributes: Attributes, _ type: TensorType) -> RefArray {
    let (planes, height, width) = (x.shape.dims[0] * x.shape.dims[1], x.shape.dims[2], x.shape.dims[3])
    let geometry = WindowGeometry(verified: attributes, input: x.shape, kernel: attributes.ints("kernel") ?? [])
    let (rows, columns) = (geometry.height, geometry.width)
    let includePadding = attributes.bool("count_include_pad") ?? false
    let input = x.floats
    var out = [Float](repeating: 0, count: type.shape.count)
    var index = 0
    for plane in 0..<planes {
      for oy in 0..<rows.output {
        for ox in 0..<columns.output {
          var taps: [Double] = []
          for ky in 0..<rows.kernel {
            let y = rows.position(window: oy, tap: ky)
            guard (0..<height).contains(y) else { continue }
            for kx in 0..<columns.kernel {
              let x = columns.position(window: ox, tap: kx)
              guard (0..<width).contains(x) else { continue }
              taps.append(Double(input[(plane * height + y) * width + x]))
            }
          }
          if kind == .maxPool2d {
            out[index] = Float(taps.contains(where: \.isNaN) ? .nan : taps.max() ?? -.infinity)
          } else {
            let count =
              rows.count(window: oy, includingPadding: includePadding)
              * columns.count(window: ox, includingPadding: includePadding)
            out[index] = Float(taps.reduce(0, +) / Double(count))
          }
          index += 1
        }
      }
    }
    return RefArray(floats: out, dtype: x.dtype, shape: type.shape)
  }

  /// Every output element read from the operand element ``PadMode/source(of:begin:size:)``
  /// names on each axis, or `value` where a constant pad has none.
  private static func pad(_ x: RefArray, _ attributes: Attributes, _ type: TensorType) -> RefArray {
    let mode = PadMode(rawValue: attributes.symbol("mode") ?? "constant") ?? .constant
    let pads = attributes.ints("pads") ?? []
    let rank = x.shape.rank
    let inputStrides = x.shape.strides
    let outputDims = type.shape.dims
    var sources: [Int?] = []
    sources.reserveCapacity(type.shape.count)
    for flat in 0..<type.shape.count {
      var remainder = flat
      var source: Int? = 0
      for axis in (0..<rank).reversed() {
        let index = remainder % outputDims[axis]
        remainder /= outputDims[axis]
        guard let inner = mode.source(of: index, begin: pads[axis], size: x.shape.dims[axis]) else {
          source = nil
          break
        }
        source = source.map { $0 + inner * inputStrides[axis] }
      }
      sources.append(source)
    }
    let value = attributes.double("value") ?? 0
    switch x.storage {
    case .float(let values):
      return RefArray(
        floats: sources.map { $0.map { values[$0] } ?? Float(value) }, dtype: x.dtype, shape: type.shape)
    case .int(let values):
      return RefArray(
        ints: sources.map { $0.map { values[$0] } ?? Int64(value) }, dtype: x.dtype, shape: type.shape)
    case .blocks:
      preconditionFailure("pad of quantized storage is rejected by the verifier")
    }
  }
}
