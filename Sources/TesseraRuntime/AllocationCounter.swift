/// The bytes of device memory that one store's live allocations hold: what
/// ``TensorStore/allocatedBytes`` reports.
///
/// A store takes a ``CountedAllocation`` from its counter for each allocation it makes and keeps
/// it in the memory object holding that allocation; when the object deinitialises, the token goes
/// with it and its bytes come off the count. Allocations are made and freed on any thread, so the
/// count is behind a lock.
public final class AllocationCounter: Sendable {
  private let total = Locked(0)

  /// A counter at zero.
  public init() {}

  /// Bytes held by the live allocations counted here.
  public var bytes: Int { total.withLock { $0 } }

  /// Counts `bytes` until the returned token deinitialises.
  public func count(_ bytes: Int) -> CountedAllocation { CountedAllocation(bytes, in: self) }

  fileprivate func add(_ delta: Int) { total.withLock { $0 += delta } }
}

/// Bytes counted in an ``AllocationCounter`` for as long as this token lives: the memory object
/// that holds the allocation keeps it, so the count falls when the memory is freed.
public final class CountedAllocation: Sendable {
  /// The bytes counted.
  public let bytes: Int
  private let counter: AllocationCounter

  fileprivate init(_ bytes: Int, in counter: AllocationCounter) {
    self.bytes = bytes
    self.counter = counter
    counter.add(bytes)
  }

  deinit { counter.add(-bytes) }
}
