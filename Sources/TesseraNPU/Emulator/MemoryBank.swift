/// The core's memories as raw bytes: global memory and the five on-chip buffers. Every access
/// goes through ``check(_:_:_:)`` first, so a bad address is a fault, never a host crash.
///
/// Global memory is borrowed from the caller for the run (read and written in place); the
/// on-chip buffers are the bank's own, zeroed. Owned by one emulator run on one thread; never
/// shared.
final class MemoryBank {
  private var buffers: [UnsafeMutableRawBufferPointer]

  init(config: NPUConfig, global: UnsafeMutableRawBufferPointer) {
    buffers = [global]
    for memory in NPUMemory.allCases where memory != .gm {
      let count = config.bytes(of: memory)
      let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Swift.max(count, 1), alignment: 64)
      buffer.initializeMemory(as: UInt8.self, repeating: 0)
      buffers.append(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count]))
    }
  }

  deinit {
    for buffer in buffers.dropFirst() { buffer.baseAddress.map { $0.deallocate() } }
  }

  /// Bytes of `memory`.
  func size(_ memory: NPUMemory) -> Int { buffers[Int(memory.rawValue)].count }

  /// The base pointer of `memory`.
  func base(_ memory: NPUMemory) -> UnsafeMutableRawPointer {
    buffers[Int(memory.rawValue)].baseAddress ?? UnsafeMutableRawPointer(bitPattern: 64)!
  }

  /// Nil when `[start, start + length)` lies inside `memory`, else the reason.
  func check(_ memory: NPUMemory, _ start: Int64, _ length: Int64) -> String? {
    if start >= 0 && length >= 0 && start <= Int64(size(memory)) - length { return nil }
    return "bytes [\(start), \(start + length)) are outside \(memory) (\(size(memory)) bytes)"
  }
}
