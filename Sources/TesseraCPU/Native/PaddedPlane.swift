import TesseraIR

/// One input plane with each row copied between padding values (zeros for a convolution or a
/// mean, −∞ for a maximum): `padBegin` of them before it, and after it as many as the last output
/// vector's taps reach (whole vectors of eight outputs, and sixteen elements per stride-2 load).
struct PaddedPlane {
  let rows: UnsafeMutablePointer<Float>
  let width: Int
  let count: Int

  /// Room for `count` rows of `axis`'s input, for `vectors` vectors of eight outputs, every
  /// element `padding` until ``fill(from:_:)`` copies the rows in.
  init(_ axis: WindowGeometry.Axis, rows count: Int, vectors: Int, padding: Float = 0) {
    width = axis.padBegin + Swift.max(axis.input, vectors * 8 * axis.stride + (axis.kernel - 1) * axis.dilation + 16)
    self.count = count
    rows = .allocate(capacity: count * width)
    rows.initialize(repeating: padding, count: count * width)
  }

  /// Copies the plane at `source` (rows of `axis.input` floats) in, each row after `padBegin`
  /// padding values; the rest of each row keeps the padding.
  func fill(from source: UnsafePointer<Float>, _ axis: WindowGeometry.Axis) {
    for row in 0..<count {
      (rows + row * width + axis.padBegin).update(from: source + row * axis.input, count: axis.input)
    }
  }
}

/// Eight or sixteen elements of a padded row, `stride` apart, loaded the way that stride allows.
protocol StridedLoads {
  /// The elements at `start`, `start + stride`, … `start + 7·stride`.
  static func load(_ start: UnsafePointer<Float>, stride: Int) -> SIMD8<Float>
  /// The elements at `start`, `start + stride`, … `start + 15·stride`.
  static func load16(_ start: UnsafePointer<Float>, stride: Int) -> SIMD16<Float>
}

/// Stride 1: one load.
enum UnitStride: StridedLoads {
  @inline(__always)
  static func load(_ start: UnsafePointer<Float>, stride: Int) -> SIMD8<Float> {
    UnsafeRawPointer(start).loadUnaligned(as: SIMD8<Float>.self)
  }

  @inline(__always)
  static func load16(_ start: UnsafePointer<Float>, stride: Int) -> SIMD16<Float> {
    UnsafeRawPointer(start).loadUnaligned(as: SIMD16<Float>.self)
  }
}

/// Stride 2: the even lanes of twice as many.
enum EvenLanes: StridedLoads {
  @inline(__always)
  static func load(_ start: UnsafePointer<Float>, stride: Int) -> SIMD8<Float> {
    UnsafeRawPointer(start).loadUnaligned(as: SIMD16<Float>.self).evenHalf
  }

  @inline(__always)
  static func load16(_ start: UnsafePointer<Float>, stride: Int) -> SIMD16<Float> {
    UnsafeRawPointer(start).loadUnaligned(as: SIMD32<Float>.self).evenHalf
  }
}

/// Any other stride: lane by lane.
enum GatheredLanes: StridedLoads {
  @inline(__always)
  static func load(_ start: UnsafePointer<Float>, stride: Int) -> SIMD8<Float> {
    var lanes = SIMD8<Float>()
    for lane in 0..<8 { lanes[lane] = start[lane * stride] }
    return lanes
  }

  @inline(__always)
  static func load16(_ start: UnsafePointer<Float>, stride: Int) -> SIMD16<Float> {
    var lanes = SIMD16<Float>()
    for lane in 0..<16 { lanes[lane] = start[lane * stride] }
    return lanes
  }
}

extension WindowGeometry.Axis {
  /// The taps of window `window` that lie inside the input: consecutive, since positions grow
  /// with the tap.
  func tapsInside(window: Int) -> Range<Int> {
    var (lower, upper) = (0, kernel)
    while lower < upper && position(window: window, tap: lower) < 0 { lower += 1 }
    while upper > lower && position(window: window, tap: upper - 1) >= input { upper -= 1 }
    return lower..<upper
  }
}
