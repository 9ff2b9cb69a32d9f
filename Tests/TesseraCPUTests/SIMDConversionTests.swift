import TesseraRuntime
import Testing

@testable import TesseraCPU

@Suite("Vector rounding and reductions against their scalar definitions")
struct SIMDConversionTests {
  @Test("roundedAwayFromZero equals rounded(.toNearestOrAwayFromZero), ties and neighbours included")
  func roundingAwayFromZero() {
    var values: [Float] = [0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 126.5, -126.5, 127, -127]
    for tie in [0.5, 1.5, 2.5, 63.5, 126.5] as [Float] {
      values += [tie.nextDown, tie.nextUp, -tie.nextDown, -tie.nextUp]
    }
    var generator = SeededRandom(seed: 11)
    values += (0..<(16 * 64)).map { _ in Float.random(in: -128...128, using: &generator) }
    while values.count % 16 != 0 { values.append(0) }
    for start in stride(from: 0, to: values.count, by: 16) {
      var lanes = SIMD16<Float>()
      for lane in 0..<16 { lanes[lane] = values[start + lane] }
      let rounded = SIMDConversions.roundedAwayFromZero(lanes)
      for lane in 0..<16 {
        #expect(rounded[lane] == Int32(lanes[lane].rounded(.toNearestOrAwayFromZero)), "\(lanes[lane])")
      }
    }
  }

  @Test("largestMagnitude is the largest |x| of 32 lanes")
  func largestMagnitude() {
    var generator = SeededRandom(seed: 12)
    for trial in 0..<64 {
      var a = SIMD16<Float>(), b = SIMD16<Float>()
      for lane in 0..<16 {
        a[lane] = Float.random(in: -4...4, using: &generator)
        b[lane] = Float.random(in: -4...4, using: &generator)
      }
      let expected = (0..<16).map { Swift.max(abs(a[$0]), abs(b[$0])) }.max()!
      #expect(SIMDConversions.largestMagnitude(a, b) == expected, "trial \(trial)")
    }
  }
}
