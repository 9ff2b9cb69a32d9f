import TesseraRuntime

/// The core's memories as raw bytes: global memory and the five on-chip buffers. Every access
/// goes through ``check(_:_:_:)`` first, so a bad address is a fault, never a host crash.
///
/// Global memory is borrowed from the caller for the run (read and written in place); the
/// on-chip buffers are the bank's own and read as zeros at the start of every run. A bank is used
/// by one emulator run at a time, on one thread; ``BankPool`` hands banks from run to run, and
/// ``reuse(global:)`` zeroes only the bytes the last run touched (the prefix up to the highest
/// byte any access checked), which costs far less than fresh zeroed pages for every program.
final class MemoryBank {
  /// The configuration the on-chip buffers were sized for.
  let config: NPUConfig
  private var buffers: [UnsafeMutableRawBufferPointer]
  /// Bytes from the start of each buffer that an access may have touched since it was zeroed.
  private var touched: [Int]

  init(config: NPUConfig, global: UnsafeMutableRawBufferPointer) {
    self.config = config
    buffers = [global]
    for memory in NPUMemory.allCases where memory != .gm {
      let count = config.bytes(of: memory)
      let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Swift.max(count, 1), alignment: 64)
      buffer.initializeMemory(as: UInt8.self, repeating: 0)
      buffers.append(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count]))
    }
    touched = [Int](repeating: 0, count: buffers.count)
  }

  deinit {
    for buffer in buffers.dropFirst() { buffer.baseAddress.map { $0.deallocate() } }
  }

  /// Readies the bank for a new run over `global`: the on-chip buffers read as zeros again.
  func reuse(global: UnsafeMutableRawBufferPointer) {
    buffers[0] = global
    for index in buffers.indices.dropFirst() where touched[index] > 0 {
      buffers[index].baseAddress!.initializeMemory(as: UInt8.self, repeating: 0, count: touched[index])
      touched[index] = 0
    }
  }

  /// Bytes of `memory`.
  func size(_ memory: NPUMemory) -> Int { buffers[Int(memory.rawValue)].count }

  /// The base pointer of `memory`.
  func base(_ memory: NPUMemory) -> UnsafeMutableRawPointer {
    buffers[Int(memory.rawValue)].baseAddress ?? UnsafeMutableRawPointer(bitPattern: 64)!
  }

  /// Nil when `[start, start + length)` lies inside `memory` (which the access may then touch),
  /// else the reason.
  func check(_ memory: NPUMemory, _ start: Int64, _ length: Int64) -> String? {
    let index = Int(memory.rawValue)
    if start >= 0 && length >= 0 && start <= Int64(buffers[index].count) - length {
      touched[index] = Swift.max(touched[index], Int(start + length))
      return nil
    }
    return "bytes [\(start), \(start + length)) are outside \(memory) (\(size(memory)) bytes)"
  }
}

/// Memory banks kept between emulator runs (one per run in flight), so that a program does not
/// pay for fresh on-chip buffers. Shared by the copies of an ``Emulator``.
final class BankPool: Sendable {
  private let banks = Locked<[MemoryBank]>([])

  /// A bank sized for `config` over `global`, ready for a run: a kept one or a new one.
  func take(config: NPUConfig, global: UnsafeMutableRawBufferPointer) -> MemoryBank {
    let kept = banks.withLock { $0.popLast() }
    guard let kept, kept.config == config else { return MemoryBank(config: config, global: global) }
    kept.reuse(global: global)
    return kept
  }

  /// Keeps `bank` for a later run.
  func give(_ bank: MemoryBank) { banks.withLock { $0.append(bank) } }
}
