/// Copies a row of input into its column phases: padded column `j = padBegin + x` of the row
/// (input float `x`) goes to phase `j mod stride`, index `j / stride`, phase `b` starting `b ·
/// phaseDistance` floats after phase 0. A window of that stride then reads sixteen neighbouring
/// outputs' taps as sixteen neighbouring floats of one phase: a whole-vector load, whatever the
/// stride.
enum ColumnPhases {
  /// Copies the `count` floats at `source` into the phases at `target`, phase after phase;
  /// `readable` floats from `source` on may be read (at least `count`).
  ///
  /// Each phase's floats go sixteen at a time (stride 1 loads sixteen, stride 2 takes the even or
  /// odd lanes of thirty-two), the last vector's lanes past the phase's floats zeroed and stored
  /// whole: up to fifteen zeros land past them. So the caller keeps everything but the copied
  /// floats zero and copies rows in increasing address order, each row's zeros then landing on
  /// padding or on floats copied after them. Blending the last vector into what the target held
  /// instead read back what the previous row had just stored, and waited for it. Other strides,
  /// and vectors that would read past `readable`, go float by float.
  @inline(__always)
  static func split(
    _ source: UnsafePointer<Float>, count: Int, readable: Int, into target: UnsafeMutablePointer<Float>,
    padBegin: Int, stride: Int, phaseDistance: Int
  ) {
    // Strides 1 and 2 as constants: their divisions are shifts.
    switch stride {
    case 1: split(source, count, readable, target, padBegin, 1, phaseDistance)
    case 2: split(source, count, readable, target, padBegin, 2, phaseDistance)
    default: split(source, count, readable, target, padBegin, stride, phaseDistance)
    }
  }

  /// ``split(_:count:readable:into:padBegin:stride:phaseDistance:)``, inlined for each stride.
  @inline(__always)
  private static func split(
    _ source: UnsafePointer<Float>, _ count: Int, _ readable: Int, _ target: UnsafeMutablePointer<Float>,
    _ padBegin: Int, _ stride: Int, _ phaseDistance: Int
  ) {
    let indices = SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
    for phase in 0..<stride {
      // The first input float of the phase, and how many it holds.
      let first = ((phase - padBegin) % stride + stride) % stride
      guard first < count else { continue }
      let floats = (count - first + stride - 1) / stride
      let from = source + first
      let to = target + phase * phaseDistance + (padBegin + first) / stride
      var i = 0
      while i < floats && (stride == 1 || stride == 2) && first + (i + 16) * stride <= readable {
        var v = load(from + i * stride)
        if stride == 2 { v = SIMD32(lowHalf: v, highHalf: load(from + i * 2 + 16)).evenHalf }
        if i + 16 > floats {
          let kept = (indices &- Int32(floats - i)) &>> 31
          v = unsafeBitCast(unsafeBitCast(v, to: SIMD16<Int32>.self) & kept, to: SIMD16<Float>.self)
        }
        UnsafeMutableRawPointer(to + i).storeBytes(of: v, as: SIMD16<Float>.self)
        i += 16
      }
      while i < floats {
        to[i] = from[i * stride]
        i += 1
      }
    }
  }

  @inline(__always)
  private static func load(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
  }
}
