import CTesseraSIMD
import Foundation
import TesseraRuntime
import Testing

@Suite("The CTesseraSIMD shim")
struct SIMDShimTests {
  @Test("tessera_deinterleave32 and tessera_deinterleave16 split floats into even and odd", arguments: [32, 16])
  func deinterleave(count: Int) {
    let half = count / 2
    let source: [Float] = (0..<count).map { Float($0) * 1.5 - 7 }
    let wantedEvens: [Float] = (0..<half).map { Float(2 * $0) * 1.5 - 7 }
    let wantedOdds: [Float] = (0..<half).map { Float(2 * $0 + 1) * 1.5 - 7 }
    var evens = [Float](repeating: .nan, count: half + 1), odds = [Float](repeating: .nan, count: half + 1)
    if count == 32 {
      tessera_deinterleave32(source, &evens, &odds)
    } else {
      tessera_deinterleave16(source, &evens, &odds)
    }
    let (gotEvens, gotOdds) = (Array(evens.prefix(half)), Array(odds.prefix(half)))
    #expect(gotEvens == wantedEvens)
    #expect(gotOdds == wantedOdds)
    #expect(evens[half].isNaN && odds[half].isNaN, "nothing past half the floats is written")
  }

  @Test(
    "tessera_load16_within, as built and with AVX-512 and AVX2 where the CPU has them, loads a row's floats, zeros outside it, and reads nothing outside it",
    arguments: [
      (count: 20, first: 0), (count: 20, first: 4), (count: 20, first: 16), (count: 7, first: 0),
      (count: 16, first: 16), (count: 40, first: 24), (count: 20, first: -3), (count: 20, first: -16),
      (count: 5, first: -2),
    ])
  func loadWithin(count: Int, first: Int) throws {
    // Unreadable pages on both sides of a readable one: a read before or past the row faults
    // where the row starts at the readable page's start or ends at its end.
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    let memory = try #require(
      mmap(nil, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0).flatMap {
        $0 == MAP_FAILED ? nil : $0
      })
    defer { munmap(memory, 3 * page) }
    #expect(mprotect(memory, page, PROT_NONE) == 0)
    #expect(mprotect(memory + 2 * page, page, PROT_NONE) == 0)
    let wanted = (0..<16).map { (0..<count).contains(first + $0) ? Float(first + $0) + 0.5 : 0 }
    for rowStart in [memory + page, memory + 2 * page - 4 * count] {
      let row = rowStart.bindMemory(to: Float.self, capacity: count)
      for i in 0..<count { row[i] = Float(i) + 0.5 }
      let lanes = tessera_load16_within(row, first, count)
      #expect((0..<16).map { lanes[$0] } == wanted, "as built")
      #if arch(x86_64)
        if tessera_has_avx512_vnni() != 0 {
          var masked = [Float](repeating: .nan, count: 16)
          tessera_load16_within_avx512(row, first, count, &masked)
          #expect(masked == wanted, "with AVX-512")
        }
        if tessera_has_avx2() != 0 {
          var masked = [Float](repeating: .nan, count: 16)
          tessera_load16_within_avx2(row, first, count, &masked)
          #expect(masked == wanted, "with AVX2")
        }
      #endif
    }
  }

  @Test("tessera_even_lanes32, tessera_odd_lanes32 and tessera_shift_up pick and move lanes")
  func lanePicks() {
    let low = SIMD16<Float>((0..<16).map { Float($0) }), high = SIMD16<Float>((16..<32).map { Float($0) })
    let (evens, odds) = (tessera_even_lanes32(low, high), tessera_odd_lanes32(low, high))
    let shifted = tessera_shift_up(-1, odds)
    for lane in 0..<16 {
      #expect(evens[lane] == Float(2 * lane))
      #expect(odds[lane] == Float(2 * lane + 1))
      #expect(shifted[lane] == (lane == 0 ? -1 : Float(2 * lane - 1)))
    }
  }

  @Test(
    "tessera_dpbusd_512 adds four unsigned-by-signed byte products to each of 16 lanes",
    .enabled(if: tessera_has_avx512_vnni() != 0, "this CPU has no AVX-512 VNNI"))
  func dotProducts() {
    var generator = SeededRandom(seed: 5)
    var unsigned = (0..<64).map { _ in UInt8.random(in: 0...255, using: &generator) }
    var signed = (0..<64).map { _ in Int8.random(in: -128...127, using: &generator) }
    unsigned[0...3] = [255, 255, 255, 255]  // the extremes: 4 · 255 · ±128 fits an int32 lane
    signed[0...3] = [-128, -128, -128, -128]
    let start = (0..<16).map { Int32($0) * 1000 - 7000 }
    var lanes = start
    tessera_dpbusd_512(&lanes, unsigned, signed)
    for lane in 0..<16 {
      var expected = start[lane]
      for j in 4 * lane..<4 * lane + 4 { expected += Int32(unsigned[j]) * Int32(signed[j]) }
      #expect(lanes[lane] == expected, "lane \(lane)")
    }
  }

  @Test(
    "tessera_dot_u4s8_pair_avx2 adds two four-bit-by-signed products' four-byte sums to each of 16 lanes",
    .enabled(if: tessera_has_avx2() != 0, "this CPU has no AVX2"))
  func nibblePairProducts() {
    var generator = SeededRandom(seed: 6)
    var low = (0..<64).map { _ in UInt8.random(in: 0...15, using: &generator) }
    var high = (0..<64).map { _ in UInt8.random(in: 0...15, using: &generator) }
    var lowX = (0..<64).map { _ in Int8.random(in: -127...127, using: &generator) }
    var highX = (0..<64).map { _ in Int8.random(in: -127...127, using: &generator) }
    // The extremes in lanes 0 and 1: the int16 pair sums of both products reach ±2 · 2 · 15 · 128.
    (low[0...7], high[0...7]) = (ArraySlice(repeating: 15, count: 8), ArraySlice(repeating: 15, count: 8))
    lowX[0...3] = [-128, -128, -128, -128]
    highX[0...3] = [-128, -128, -128, -128]
    lowX[4...7] = [127, 127, 127, 127]
    highX[4...7] = [127, 127, 127, 127]
    let start = (0..<16).map { Int32($0) * 1000 - 7000 }
    var lanes = start
    tessera_dot_u4s8_pair_avx2(&lanes, low, lowX, high, highX)
    for lane in 0..<16 {
      var expected = start[lane]
      for j in 4 * lane..<4 * lane + 4 {
        expected += Int32(low[j]) * Int32(lowX[j]) + Int32(high[j]) * Int32(highX[j])
      }
      #expect(lanes[lane] == expected, "lane \(lane)")
    }
  }
}
