import Foundation

/// A value behind a lock, for state that several threads share.
///
/// It wraps `NSLock` (a pthread mutex) rather than the standard library's `Mutex`:
/// ThreadSanitizer intercepts pthread locks, while `Mutex` synchronises inside the uninstrumented
/// standard library, so TSan reported accesses under a `Mutex` as races and `make test-tsan`
/// could not tell those from real ones.
///
/// `@unchecked Sendable`: `value` is only touched inside `withLock`.
public final class Locked<Value>: @unchecked Sendable {
  private let lock = NSLock()
  private var value: Value

  /// Wraps `value`.
  public init(_ value: Value) { self.value = value }

  /// Runs `body` with the value while holding the lock.
  public func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure)
    -> Result
  {
    lock.lock()
    defer { lock.unlock() }
    return try body(&value)
  }
}

/// A lock with no value of its own, for sections that must not run concurrently (a queue
/// submission, a run that reuses its buffers). Kept apart from `Locked<Void>`: an `inout` access
/// to a zero-sized value has the address of whatever memory follows it, which ThreadSanitizer
/// then reports as a race between unrelated objects.
public final class Lock: Sendable {
  private let lock = NSLock()

  /// A new, unlocked lock.
  public init() {}

  /// Runs `body` while holding the lock.
  public func withLock<Result, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
    lock.lock()
    defer { lock.unlock() }
    return try body()
  }
}
