import TesseraIR
import TesseraRuntime
import TesseraTestSupport
import Testing

@testable import TesseraNPU

/// The npu's global memory: the first-fit allocator behind it, buffers given back with their
/// last reference, and graphs whose buffers stay resident there.
@Suite("NPU global memory")
struct NPUGlobalMemoryTests {
  @Test("random allocations never overlap, stay aligned and are all given back")
  func allocatorKeepsRangesApart() {
    var allocator = RegionAllocator(capacity: 1 << 20, alignment: 256)
    var generator = SeededRandom(seed: 17)
    var live: [(start: Int, bytes: Int)] = []
    for _ in 0..<600 {
      if !live.isEmpty && generator.next() % 3 == 0 {
        let victim = live.remove(at: Int(generator.next() % UInt64(live.count)))
        allocator.release(victim.start, bytes: victim.bytes)
      } else {
        let bytes = Int(generator.next() % 5000)
        guard let start = allocator.allocate(bytes) else { continue }
        live.append((start, bytes))
      }
      let ranges = live.map { $0.start..<($0.start + allocator.footprint(of: $0.bytes)) }.sorted {
        $0.lowerBound < $1.lowerBound
      }
      #expect(ranges.allSatisfy { $0.lowerBound % 256 == 0 && $0.upperBound <= allocator.end })
      #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound <= $1.lowerBound }, "overlapping ranges")
      #expect(allocator.bytesInUse == ranges.reduce(0) { $0 + $1.count })
      #expect(allocator.free.allSatisfy { free in ranges.allSatisfy { !$0.overlaps(free) } })
    }
    for range in live { allocator.release(range.start, bytes: range.bytes) }
    #expect(allocator.end == 0 && allocator.free.isEmpty && allocator.bytesInUse == 0)
  }

  @Test("a freed hole is reused first; a request larger than the space left fails")
  func allocatorReusesHolesAndRespectsCapacity() {
    var allocator = RegionAllocator(capacity: 4096, alignment: 256)
    let a = allocator.allocate(1000)!, b = allocator.allocate(100)!, c = allocator.allocate(256)!
    #expect([a, b, c] == [0, 1024, 1280])
    allocator.release(a, bytes: 1000)
    #expect(allocator.allocate(300) == 0, "first fit: the freed range at 0")
    #expect(allocator.allocate(4096 - 1536 + 1) == nil, "2561 bytes need 2816 and only 2560 are above the top")
    #expect(allocator.allocate(2560) == 1536)
  }

  @Test("buffers are zeroed, bounds-checked and given back with their last reference")
  func buffersComeAndGo() throws {
    let global = NPUGlobalMemory(deviceName: "npu", capacity: 1 << 16)
    var buffer: (any DeviceMemory)? = try global.allocate(bytes: 1000, name: "%a")
    #expect(global.allocatedBytes == 1024 && buffer!.allocatedBytes == 1024)
    #expect(try global.read(buffer!, at: 0, count: 1000) == [UInt8](repeating: 0, count: 1000))
    try [UInt8](1...10).withUnsafeBytes { try global.write($0, to: buffer!, at: 990) }
    #expect(try global.read(buffer!, at: 995, count: 5) == [6, 7, 8, 9, 10])
    #expect(throws: DeviceError.self) { try global.read(buffer!, at: 995, count: 6) }
    let other = NPUGlobalMemory(deviceName: "npu", capacity: 1 << 16)
    #expect(throws: DeviceError.self) { try other.read(buffer!, at: 0, count: 1) }
    buffer = nil
    #expect(global.allocatedBytes == 0)
    #expect {
      try global.allocate(bytes: 1 << 17, name: "%huge")
    } throws: { error in
      "\(error)".contains("%huge") && "\(error)".contains("npu")
    }
  }

  @Test("a compiled graph holds its arena in global memory until it goes; runs leave no buffers behind")
  func compiledGraphsHoldTheirArena() throws {
    let device = npuDevice()
    let graph = try TestSupport.parseOne(
      """
      func @f(%x: f32[64,64], %w: f32[64,64]) -> f32[64] {
        %h = matmul %x, %w : f32[64,64]
        %e = exp %h : f32[64,64]
        %s = reduce_sum %e {axes = [1]} : f32[64]
        return %s
      }
      """)
    #expect(device.global.allocatedBytes == 0)
    var compiled: CompiledGraph? = try device.compile(graph)
    let arena = device.global.allocatedBytes
    #expect(arena > 0, "the arena is taken at compile time")
    var generator = SeededRandom(seed: 2)
    let inputs = graph.argumentTypes.map { Tensor.random($0, using: &generator) }
    let expected = try TestSupport.evaluate(graph, inputs)[0]
    for _ in 0..<2 {
      let actual = try compiled!.run(inputs: inputs)[0]
      #expect(TestSupport.toleranceRatio(actual, expected, atol: 1e-1, rtol: 2e-2) <= 1)
    }
    #expect(device.global.allocatedBytes == arena + 2 * 16384, "one kept buffer per host input")
    compiled = nil
    #expect(device.global.allocatedBytes == 0)
  }
}
