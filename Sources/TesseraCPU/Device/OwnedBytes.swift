import Synchronization

/// A heap byte buffer with a stable address, freed with its owner. `@unchecked Sendable`: the
/// executor writes it only during a run that owns it, and weights are never written.
final class OwnedBytes: @unchecked Sendable {
  let pointer: UnsafeMutableRawPointer
  let count: Int

  init(count: Int) {
    self.count = count
    pointer = .allocate(byteCount: Swift.max(count, 1), alignment: 64)
    pointer.initializeMemory(as: UInt8.self, repeating: 0, count: Swift.max(count, 1))
  }

  convenience init(_ bytes: [UInt8]) {
    self.init(count: bytes.count)
    bytes.withUnsafeBytes { if let base = $0.baseAddress { pointer.copyMemory(from: base, byteCount: bytes.count) } }
  }

  deinit { pointer.deallocate() }
}

/// Arenas of one size kept between runs: a run takes one (or a new one when every kept arena is
/// in use by a concurrent run) and gives it back when done. Values are written before they are
/// read, so a reused arena needs no clearing.
final class ArenaPool: Sendable {
  private let bytes: Int
  private let free = Mutex<[OwnedBytes]>([])

  /// A pool of arenas of `bytes` bytes.
  init(bytes: Int) { self.bytes = bytes }

  /// An arena no other run is using.
  func take() -> OwnedBytes {
    free.withLock { $0.popLast() } ?? OwnedBytes(count: bytes)
  }

  /// Returns `arena` for the next run.
  func give(_ arena: OwnedBytes) {
    free.withLock { $0.append(arena) }
  }
}
