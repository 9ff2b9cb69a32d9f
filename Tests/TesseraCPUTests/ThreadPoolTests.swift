import Dispatch
import Foundation
import Testing

@testable import TesseraCPU

/// The fork-join on the persistent worker team: every part runs exactly once, however the pool
/// is sized, nested, or called from several threads at once.
@Suite("CPU thread pool")
struct ThreadPoolTests {
  /// How often each index was visited, shared by the parts of a run (behind a pthread lock,
  /// which ThreadSanitizer understands).
  final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [Int]
    init(_ count: Int) { counts = [Int](repeating: 0, count: count) }
    func visit(_ index: Int) { lock.withLock { counts[index] += 1 } }
    var values: [Int] { lock.withLock { counts } }
  }

  /// Runs `parts` parts on `pool` and returns how often each ran.
  static func counts(_ pool: CPUThreadPool, parts: Int) -> [Int] {
    let tally = Tally(parts)
    pool.run(parts: parts) { tally.visit($0) }
    return tally.values
  }

  @Test("every part runs exactly once", arguments: [1, 2, 3, 8], [0, 1, 2, 7, 64, 1000])
  func everyPartOnce(threads: Int, parts: Int) {
    for _ in 0..<20 {
      #expect(Self.counts(CPUThreadPool(threads: threads), parts: parts) == [Int](repeating: 1, count: parts))
    }
  }

  @Test("a run nested inside a part completes, its parts run inline")
  func nestedRuns() {
    let tally = Tally(4 * 5)
    CPUThreadPool(threads: 2).run(parts: 4) { outer in
      CPUThreadPool(threads: 2).run(parts: 5) { inner in tally.visit(outer * 5 + inner) }
    }
    #expect(tally.values == [Int](repeating: 1, count: 20))
  }

  @Test("runs from several threads at once each finish all their parts")
  func concurrentCallers() {
    let failures = Tally(1)
    DispatchQueue.concurrentPerform(iterations: 4) { _ in
      for parts in [3, 17, 64]
      where Self.counts(CPUThreadPool(threads: 2), parts: parts) != [Int](repeating: 1, count: parts) {
        failures.visit(0)
      }
    }
    #expect(failures.values == [0])
  }

  @Test("forEachChunk covers the range with disjoint chunks", arguments: [1, 2, 3])
  func chunksCoverTheRange(threads: Int) {
    for count in [0, 1, 5, 97, 4096] {
      let tally = Tally(count)
      CPUThreadPool(threads: threads).forEachChunk(of: count, grain: 4, chunksPerThread: 3) { range in
        for index in range { tally.visit(index) }
      }
      #expect(tally.values == [Int](repeating: 1, count: count))
    }
  }
}
