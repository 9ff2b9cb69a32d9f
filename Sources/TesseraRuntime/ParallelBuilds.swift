import Foundation

/// Runs independent builds (a driver compiling programs or pipelines) on a few threads, with the
/// result and the error a build in order would give.
public enum ParallelBuilds {
  /// The threads builds use by default: one per available processor, at most 8.
  public static var defaultThreads: Int { min(8, max(1, ProcessInfo.processInfo.activeProcessorCount)) }

  /// `build(index)` for every index in `0..<count`, on up to `threads` threads, in index order.
  ///
  /// Indices are handed out in increasing order. When a build fails, no later index starts, the
  /// builds already started finish, and the error of the lowest failing index is thrown: the
  /// same error a loop over the indices would throw.
  public static func map<Result: Sendable, Failure: Error>(
    count: Int, threads: Int = defaultThreads, _ build: @escaping @Sendable (Int) throws(Failure) -> Result
  ) throws(Failure) -> [Result] {
    let state = Locked(Progress<Result, Failure>(count: count))
    let work: @Sendable () -> Void = {
      while let index = state.withLock({ $0.nextIndex() }) {
        do throws(Failure) {
          let result = try build(index)
          state.withLock { $0.results[index] = result }
        } catch {
          state.withLock { $0.fail(index, error) }
        }
      }
    }
    let workers = min(max(1, threads), count)
    if workers <= 1 {
      work()
    } else {
      DispatchQueue.concurrentPerform(iterations: workers) { _ in work() }
    }
    return try state.withLock { progress throws(Failure) in
      if let failure = progress.failure { throw failure.error }
      return progress.results.map { $0! }
    }
  }

  /// The shared state of one ``map(count:threads:_:)``.
  private struct Progress<Result, Failure: Error> {
    var results: [Result?]
    var next = 0
    var failure: (index: Int, error: Failure)?

    init(count: Int) { results = Array(repeating: nil, count: count) }

    /// The next index to build, or `nil` when every index was handed out or one has failed.
    mutating func nextIndex() -> Int? {
      guard next < results.count, failure == nil else { return nil }
      defer { next += 1 }
      return next
    }

    /// Keeps the failure of the lowest index.
    mutating func fail(_ index: Int, _ error: Failure) {
      if failure.map({ index < $0.index }) ?? true { failure = (index, error) }
    }
  }
}
