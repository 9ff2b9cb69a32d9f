import TesseraRuntime
import TesseraTestSupport
import Testing

@testable import TesseraOpenCL

/// Small writes queued as fills (``OpenCLSmallWrite``): the pieces cover the bytes exactly, each
/// a power of two that its place in the buffer is a multiple of; and on the device, writes of
/// every size up to the largest at odd and aligned offsets leave the buffer as a host copy
/// written the same way, the bytes around them untouched.
@Suite("Small OpenCL writes as fills")
struct OpenCLSmallWriteTests {
  @Test("pieces tile the bytes with aligned powers of two", arguments: [0, 1, 2, 3, 4, 6, 8, 100, 128, 129])
  func pieces(offset: Int) {
    for count in 1...OpenCLSmallWrite.largestBytes {
      let pieces = OpenCLSmallWrite.pieces(offset: offset, count: count)
      var next = 0
      for piece in pieces {
        #expect(piece.start == next, "offset \(offset) count \(count): \(pieces)")
        #expect(piece.size >= 1 && piece.size <= 128 && piece.size & (piece.size - 1) == 0)
        #expect((offset + piece.start) % piece.size == 0, "offset \(offset) count \(count): \(pieces)")
        next += piece.size
      }
      #expect(next == count, "offset \(offset) count \(count): \(pieces)")
    }
    // Aligned writes of a power of two are one fill.
    #expect(OpenCLSmallWrite.pieces(offset: 8, count: 4).count == 1)
    #expect(OpenCLSmallWrite.pieces(offset: 128, count: 128).count == 1)
  }

  @Test(
    "writes of up to the largest size land where they are written",
    .enabled(if: OpenCLTestDevice.available, OpenCLTestDevice.reason))
  func roundTrip() throws {
    let device = try #require(OpenCLTestDevice.device)
    let size = 3 * OpenCLSmallWrite.largestBytes
    let memory = try device.allocate(bytes: size, name: "%small")
    var expected = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
    try expected.withUnsafeBytes { try device.write($0, to: memory, at: 0) }
    var generator = SeededRandom(seed: 11)
    for count in [1, 2, 3, 4, 5, 8, 12, 31, 64, 100, 128, 129, 200, OpenCLSmallWrite.largestBytes] {
      for offset in [0, 1, 4, 6, 64, 131] {
        let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        try bytes.withUnsafeBytes { try device.write($0, to: memory, at: offset) }
        expected.replaceSubrange(offset..<offset + count, with: bytes)
      }
    }
    #expect(try device.read(memory, at: 0, count: size) == expected)
  }
}
