import CTesseraSIMD

/// Copies a row of input into its column phases: padded column `j = padBegin + x` of the row
/// (input float `x`) goes to phase `j mod stride`, index `j / stride`, phase `b` starting `b ·
/// phaseDistance` floats after phase 0. A window of that stride then reads sixteen neighbouring
/// outputs' taps as sixteen neighbouring floats of one phase: a whole-vector load, whatever the
/// stride.
enum ColumnPhases {
  /// Copies the `count` floats at `source` into the phases at `target`, phase after phase;
  /// `readable` floats from `source` on may be read (at least `count`).
  ///
  /// Stride 2 splits pairs of floats (``splitPairs(_:count:into:padBegin:phaseDistance:)``).
  /// Otherwise each phase's floats go sixteen at a time (stride 1 loads sixteen), the last
  /// vector's lanes past the phase's floats zeroed and stored whole: up to fifteen zeros land
  /// past them. So the caller keeps everything but the copied
  /// floats zero and copies rows in increasing address order, each row's zeros then landing on
  /// padding or on floats copied after them. Blending the last vector into what the target held
  /// instead read back what the previous row had just stored, and waited for it. Other strides,
  /// and vectors that would read past `readable`, go float by float.
  @inline(__always)
  static func split(
    _ source: UnsafePointer<Float>, count: Int, readable: Int, into target: UnsafeMutablePointer<Float>,
    padBegin: Int, stride: Int, phaseDistance: Int
  ) {
    // Stride 1 as a constant: its divisions are shifts.
    switch stride {
    case 1: split(source, count, readable, target, padBegin, 1, phaseDistance)
    case 2: splitPairs(source, count: count, into: target, padBegin: padBegin, phaseDistance: phaseDistance)
    default: split(source, count, readable, target, padBegin, stride, phaseDistance)
    }
  }

  /// Stride 2: each pair of floats goes to the two phases (the even float to the phase of
  /// `padBegin`'s parity), thirty-two floats at a time (`tessera_deinterleave32`), then sixteen,
  /// then pair by pair; nothing past the row is read or written. (Loading each phase's floats
  /// apart, with a `SIMD32`'s `evenHalf` that became lane inserts and broadcasts, took 22–27 µs
  /// of copying in MobileNetV3's stride-2 depthwise layers on 56×56 and 28×28 outputs.)
  @inline(__always)
  private static func splitPairs(
    _ source: UnsafePointer<Float>, count: Int, into target: UnsafeMutablePointer<Float>, padBegin: Int,
    phaseDistance: Int
  ) {
    let pairs = count / 2
    let evens = target + (padBegin % 2 &* phaseDistance &+ padBegin / 2)
    let odds = target + ((padBegin &+ 1) % 2 &* phaseDistance &+ (padBegin &+ 1) / 2)
    var pair = 0
    while pair &+ 16 <= pairs {
      tessera_deinterleave32(source + 2 &* pair, evens + pair, odds + pair)
      pair &+= 16
    }
    if pair &+ 8 <= pairs {
      tessera_deinterleave16(source + 2 &* pair, evens + pair, odds + pair)
      pair &+= 8
    }
    while pair < pairs {
      evens[pair] = source[2 &* pair]
      odds[pair] = source[2 &* pair &+ 1]
      pair &+= 1
    }
    if count % 2 == 1 { evens[pairs] = source[count &- 1] }
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
      while i < floats && stride == 1 && first + i + 16 <= readable {
        var v = load(from + i)
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
