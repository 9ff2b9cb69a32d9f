import Glibc
import Synchronization

/// A zeroed heap byte buffer with a 64-byte-aligned, stable address, freed with its owner.
/// It comes from `calloc`, so a large buffer is fresh zero pages that take memory only where a
/// run writes (an arena slot for a value no step computes costs nothing).
/// `@unchecked Sendable`: the executor writes it only during a run that owns it, and weights are
/// never written.
final class OwnedBytes: @unchecked Sendable {
  let pointer: UnsafeMutableRawPointer
  let count: Int
  private let allocation: UnsafeMutableRawPointer

  init(count: Int) {
    self.count = count
    guard let allocation = calloc(Swift.max(count, 1) + 63, 1) else { fatalError("out of memory: \(count) bytes") }
    self.allocation = allocation
    pointer = allocation + (64 - Int(bitPattern: allocation) % 64) % 64
  }

  convenience init(_ bytes: [UInt8]) {
    self.init(count: bytes.count)
    bytes.withUnsafeBytes { if let base = $0.baseAddress { pointer.copyMemory(from: base, byteCount: bytes.count) } }
  }

  deinit { free(allocation) }
}

/// Arenas of one size kept between runs: a run takes one (or a new one when every kept arena is
/// in use by a concurrent run) and gives it back when done. Values are written before they are
/// read, so a reused arena needs no clearing.
final class ArenaPool: Sendable {
  private let bytes: Int
  private let idle = Mutex<[OwnedBytes]>([])

  /// A pool of arenas of `bytes` bytes.
  init(bytes: Int) { self.bytes = bytes }

  /// An arena no other run is using.
  func take() -> OwnedBytes {
    idle.withLock { $0.popLast() } ?? OwnedBytes(count: bytes)
  }

  /// Returns `arena` for the next run.
  func give(_ arena: OwnedBytes) {
    idle.withLock { $0.append(arena) }
  }
}
