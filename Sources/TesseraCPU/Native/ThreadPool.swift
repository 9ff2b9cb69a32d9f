import Dispatch
import Foundation

/// How many threads the CPU backend's kernels use, and the fork-join that spreads work on them.
///
/// The workers are ``WorkerTeam``'s persistent threads (one per core besides the caller, started
/// once); a ``run(parts:_:)`` call hands them exactly `parts` pieces and waits, so a kernel never
/// uses more threads than ``threads`` and never allocates per element. With one thread
/// everything runs inline on the caller.
public struct CPUThreadPool: Sendable, Hashable {
  /// Threads a kernel splits its work across (at least 1).
  public let threads: Int

  /// A pool of `threads` threads (clamped to at least 1).
  public init(threads: Int) { self.threads = Swift.max(1, threads) }

  /// The default: `TESSERA_THREADS` when it is a positive integer, else the number of active cores.
  public static let shared = CPUThreadPool(threads: defaultThreadCount())

  /// One thread: everything on the caller.
  public static let single = CPUThreadPool(threads: 1)

  /// `TESSERA_THREADS` if set to a positive integer, otherwise the active core count.
  public static func defaultThreadCount(environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
    if let text = environment["TESSERA_THREADS"], let value = Int(text), value > 0 { return value }
    return ProcessInfo.processInfo.activeProcessorCount
  }

  /// Runs `body(part)` for every part in `0..<parts`, concurrently when the pool has more than one
  /// thread, and returns when all are done. Parts must touch disjoint memory.
  public func run(parts: Int, _ body: @Sendable (Int) -> Void) {
    if parts <= 0 { return }
    WorkerTeam.shared.run(parts: parts, threads: threads, body)
  }

  /// Splits `0..<count` into at most ``threads`` × `chunksPerThread` contiguous chunks (each a
  /// multiple of `grain` long except the last) and runs `body` on each, concurrently. More than
  /// one chunk per thread lets the threads that start first take the chunks of a worker that
  /// wakes late, which matters for calls of tens of microseconds.
  public func forEachChunk(
    of count: Int, grain: Int = 1, chunksPerThread: Int = 1, _ body: @Sendable (Range<Int>) -> Void
  ) {
    let units = (count + grain - 1) / grain
    let parts = threads == 1 ? 1 : Swift.min(threads * Swift.max(1, chunksPerThread), units)
    if parts <= 1 {
      if count > 0 { body(0..<count) }
      return
    }
    run(parts: parts) { part in
      let start = units * part / parts * grain
      let end = Swift.min(count, units * (part + 1) / parts * grain)
      if start < end { body(start..<end) }
    }
  }
}
